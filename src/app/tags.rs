//! The tag picker (`t`): which scalar series the charts draw. External runs (TensorBoard,
//! Lightning) often log dozens of tags; the picker lists every tag of the runs in the charts
//! (their union, with how many runs log each and how many points), filters them with `/`, and
//! Space toggles which are drawn. With none chosen the charts draw their default: the training
//! loss (the first loss-like tag of an external run) and the workbench's own metric.
use std::collections::{BTreeMap, BTreeSet};

use crossterm::event::{KeyCode, KeyEvent};

use super::compare::XAxis;
use super::run_view::RunView;
use super::series::{Ema, Series};
use super::{App, ChartOptions, Pane, Popup};
use crate::runs::events::ScalarPoint;

/// Weight of each new value in a tag's smoothed curve (as the step loss's).
const SMOOTHING: f32 = 0.05;
/// Longest filter kept.
const FILTER_MAX: usize = 64;
/// Rows a PageUp/PageDown moves.
const PAGE: isize = 10;

/// One scalar series of an external run: its values (with min/max summaries) and where each
/// value falls on the step, epoch and wall-time axes.
#[derive(Debug, Clone, PartialEq)]
pub struct TagSeries {
    /// The step each value was logged at.
    pub steps: Vec<i64>,
    /// The epoch each value was logged at, where the logger says (Lightning's CSV).
    pub epochs: Vec<Option<u32>>,
    /// Seconds since the run's first logged point; NaN where unknown.
    pub wall: Vec<f32>,
    /// The values, in the order logged.
    pub values: Series,
    /// Their exponential moving average.
    pub smooth: Series,
    ema: Ema,
}

impl Default for TagSeries {
    fn default() -> TagSeries {
        TagSeries {
            steps: Vec::new(),
            epochs: Vec::new(),
            wall: Vec::new(),
            values: Series::new(),
            smooth: Series::new(),
            ema: Ema::new(SMOOTHING),
        }
    }
}

impl TagSeries {
    /// Append one point; `wall_origin` is the run's first wall time (seconds since 1970).
    pub fn push(&mut self, p: &ScalarPoint, wall_origin: Option<f64>) {
        let value = p.value as f32;
        self.steps.push(p.step);
        self.epochs.push(p.epoch);
        let wall = match wall_origin {
            Some(o) if p.wall_time.is_finite() => (p.wall_time - o) as f32,
            _ => f32::NAN,
        };
        self.wall.push(wall);
        self.values.push(value);
        self.smooth.push(self.ema.update(value));
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// The picker's state while it is open.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TagPicker {
    /// The highlighted row, an index into the filtered list.
    pub cursor: usize,
    /// The filter: tags that contain it (ignoring case) are listed.
    pub filter: String,
    /// The filter is being typed (`/` starts, Enter keeps, Esc clears).
    pub typing: bool,
}

/// One row of the picker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagEntry {
    pub tag: String,
    /// How many of the charts' runs log it.
    pub runs: usize,
    /// Its points in all those runs.
    pub points: usize,
    /// It is drawn.
    pub chosen: bool,
}

/// Every tag of `runs`, sorted by name, those containing `filter` (ignoring case).
pub fn tag_entries(runs: &[&RunView], chosen: &BTreeSet<String>, filter: &str) -> Vec<TagEntry> {
    let mut all: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for run in runs {
        for (tag, points) in run.tag_list() {
            let e = all.entry(tag).or_default();
            e.0 += 1;
            e.1 += points;
        }
    }
    let filter = filter.to_lowercase();
    all.into_iter()
        .filter(|(tag, _)| tag.to_lowercase().contains(&filter))
        .map(|(tag, (runs, points))| TagEntry { chosen: chosen.contains(&tag), tag, runs, points })
        .collect()
}

impl App {
    /// The runs the charts draw: the selected ones when two or more are, else the focused run
    /// (or the one selected).
    pub fn chart_runs(&self) -> Vec<&RunView> {
        let selected = self.runs.selected_runs();
        if selected.len() >= 2 {
            return selected;
        }
        self.focused_run().or(selected.first().copied()).into_iter().collect()
    }

    /// The chart options as drawn: on the epoch axis, runs another tool logged without epochs
    /// (TensorBoard's scalars carry only a step) are drawn against their steps instead, labelled
    /// so, rather than against a made-up epoch.
    pub fn chart_options(&self) -> ChartOptions {
        let mut options = self.chart;
        let runs = self.chart_runs();
        let no_epochs = |r: &&RunView| {
            r.external.is_some() && r.tags.values().all(|t| t.epochs.iter().all(|e| e.is_none()))
        };
        if options.x_axis == XAxis::Epoch && !runs.is_empty() && runs.iter().all(no_epochs) {
            options.x_axis = XAxis::Step;
        }
        options
    }

    /// The picker's rows as it stands.
    pub fn tag_entries(&self, picker: &TagPicker) -> Vec<TagEntry> {
        tag_entries(&self.chart_runs(), &self.chart_tags, &picker.filter)
    }

    /// `t`: open the tag picker over the charts' runs.
    pub(super) fn open_tag_picker(&mut self) {
        if self.chart_runs().is_empty() {
            self.notify_error("no run in the charts: pick one in the runs pane (Tab to it)");
            return;
        }
        // The datasets pane shows the preview instead of the charts: show the charts.
        if self.focus == Pane::Datasets {
            self.focus = Pane::Charts;
        }
        self.popup = Some(Popup::Tags(TagPicker::default()));
    }

    /// A key while the picker is open.
    pub(super) fn on_tag_picker_key(&mut self, mut picker: TagPicker, key: KeyEvent) {
        if picker.typing {
            match super::line_edit::edit_line(&mut picker.filter, &key, FILTER_MAX) {
                super::line_edit::LineKey::Enter => picker.typing = false,
                super::line_edit::LineKey::Esc => {
                    picker.typing = false;
                    picker.filter.clear();
                }
                _ => {}
            }
            picker.cursor = 0;
            self.popup = Some(Popup::Tags(picker));
            return;
        }
        let entries = self.tag_entries(&picker);
        let last = entries.len().saturating_sub(1) as isize;
        let moved = |delta: isize| (picker.cursor as isize + delta).clamp(0, last) as usize;
        match key.code {
            KeyCode::Enter | KeyCode::Esc | KeyCode::Char('t') | KeyCode::Char('q') => {
                self.popup = None;
                return;
            }
            KeyCode::Char('/') => picker.typing = true,
            KeyCode::Up | KeyCode::Char('k') => picker.cursor = moved(-1),
            KeyCode::Down | KeyCode::Char('j') => picker.cursor = moved(1),
            KeyCode::PageUp => picker.cursor = moved(-PAGE),
            KeyCode::PageDown => picker.cursor = moved(PAGE),
            KeyCode::Home | KeyCode::Char('g') => picker.cursor = 0,
            KeyCode::End | KeyCode::Char('G') => picker.cursor = last.max(0) as usize,
            KeyCode::Char(' ') => {
                if let Some(entry) = entries.get(picker.cursor) {
                    if !self.chart_tags.remove(&entry.tag) {
                        self.chart_tags.insert(entry.tag.clone());
                    }
                }
            }
            _ => {}
        }
        self.popup = Some(Popup::Tags(picker));
    }
}
