//! Every run the app knows, by key: the list newest first, the focused run, the selection and the
//! filter. Built from [`RunEvent`]s only.
use std::collections::HashMap;

use regex::{Regex, RegexBuilder};

use super::run_view::RunView;
use crate::runs::{RunEvent, RunKey};

/// What `/` filters the runs list with: a case-insensitive regex when the text parses as one,
/// else a plain substring.
#[derive(Debug, Clone)]
pub struct RunFilter {
    pub text: String,
    regex: Option<Regex>,
}

impl RunFilter {
    pub fn new(text: &str) -> RunFilter {
        let regex = RegexBuilder::new(text).case_insensitive(true).size_limit(1 << 20).build().ok();
        RunFilter { text: text.to_string(), regex }
    }

    /// Whether the text is used as a regex (it parsed as one).
    pub fn is_regex(&self) -> bool {
        self.regex.is_some()
    }

    /// Does the run match on its name, dataset, model, device or status?
    pub fn matches(&self, run: &RunView) -> bool {
        if self.text.is_empty() {
            return true;
        }
        let status = run.reason_kind().map(|k| format!("{} {k}", run.status_label()));
        let status = status.as_deref().unwrap_or(run.status_label());
        let fields = [run.key.as_str(), run.dataset(), run.model(), run.device(), status];
        match &self.regex {
            Some(re) => fields.iter().any(|f| re.is_match(f)),
            None => {
                let needle = self.text.to_lowercase();
                fields.iter().any(|f| f.to_lowercase().contains(&needle))
            }
        }
    }
}

/// The runs, their order and what the user picked among them.
#[derive(Debug, Clone, Default)]
pub struct Runs {
    pub by_key: HashMap<RunKey, RunView>,
    /// Every key, newest first (folder names begin with their start time).
    pub order: Vec<RunKey>,
    /// The run the header, the progress panel and the single-run charts show.
    pub focused: Option<RunKey>,
    /// Runs picked with Space, in the order they were picked: the overlay, the diff table and
    /// export use them.
    pub selected: Vec<RunKey>,
    /// The `/` filter in force (`None`: every run shows).
    pub filter: Option<RunFilter>,
    /// Colours handed out so far: the next new run gets this palette index.
    pub next_color: usize,
    /// Each sweep seen, in order of first sight, with how many of its runs have a shade: a
    /// sweep's runs share its colour family.
    sweep_families: Vec<(String, usize)>,
    /// Sweeps folded into one row of the list (`g`).
    pub folded: std::collections::BTreeSet<String>,
}

impl Runs {
    /// Apply one event. Returns the key when it names a run not seen before.
    pub fn apply(&mut self, event: RunEvent) -> Option<RunKey> {
        let key = event.key().to_string();
        if let RunEvent::Removed { .. } = event {
            self.by_key.remove(&key);
            self.order.retain(|k| *k != key);
            self.selected.retain(|k| *k != key);
            if self.focused.as_ref() == Some(&key) {
                self.focused = None;
            }
            return None;
        }
        let mut new = None;
        if !self.by_key.contains_key(&key) {
            let dir = match &event {
                RunEvent::Meta { dir, .. } | RunEvent::Problem { dir, .. } => dir.clone(),
                _ => Default::default(),
            };
            self.by_key.insert(key.clone(), RunView::new(&key, dir, self.next_color));
            self.next_color += 1;
            // Newest first: keys sort by their start time, so descending key order.
            let at = self.order.partition_point(|k| k.as_str() > key.as_str());
            self.order.insert(at, key.clone());
            new = Some(key.clone());
        }
        if let Some(run) = self.by_key.get_mut(&key) {
            run.apply(event);
            if run.family.is_none() {
                if let Some(sweep) = run.meta.as_ref().and_then(|m| m.sweep.as_deref()) {
                    let slot = match self.sweep_families.iter().position(|(name, _)| name == sweep) {
                        Some(slot) => slot,
                        None => {
                            self.sweep_families.push((sweep.to_string(), 0));
                            self.sweep_families.len() - 1
                        }
                    };
                    let members = &mut self.sweep_families[slot].1;
                    run.family = Some((slot, *members));
                    *members += 1;
                }
            }
        }
        new
    }

    pub fn get(&self, key: &str) -> Option<&RunView> {
        self.by_key.get(key)
    }

    pub fn focused_run(&self) -> Option<&RunView> {
        self.by_key.get(self.focused.as_deref()?)
    }

    /// The runs the list shows, newest first, after the filter; a folded sweep shows as its
    /// newest run (the list draws it as the sweep's row).
    pub fn visible(&self) -> Vec<&RunView> {
        let mut shown_sweeps: Vec<&str> = Vec::new();
        self.order
            .iter()
            .filter_map(|k| self.by_key.get(k))
            .filter(|r| self.filter.as_ref().is_none_or(|f| f.matches(r)))
            .filter(|r| match self.folded_sweep(r) {
                Some(sweep) if shown_sweeps.contains(&sweep) => false,
                Some(sweep) => {
                    shown_sweeps.push(sweep);
                    true
                }
                None => true,
            })
            .collect()
    }

    /// The sweep `run` belongs to when that sweep is folded.
    pub fn folded_sweep<'r>(&self, run: &'r RunView) -> Option<&'r str> {
        run.meta.as_ref()?.sweep.as_deref().filter(|s| self.folded.contains(*s))
    }

    /// `g`: fold the focused run's sweep into one row, or unfold it. Its name and whether it is
    /// folded now; `None` when the focused run is no sweep's.
    pub fn toggle_fold(&mut self) -> Option<(String, bool)> {
        let sweep = self.focused_run()?.meta.as_ref()?.sweep.clone()?;
        let folded = !self.folded.remove(&sweep);
        if folded {
            self.folded.insert(sweep.clone());
            // The focus moves to the row that stands for the sweep.
            let newest = self.visible().into_iter().find(|r| self.folded_sweep(r) == Some(sweep.as_str()));
            self.focused = newest.map(|r| r.key.clone());
        }
        Some((sweep, folded))
    }

    /// The selected runs that still exist, in the order they were picked.
    pub fn selected_runs(&self) -> Vec<&RunView> {
        self.selected.iter().filter_map(|k| self.by_key.get(k)).collect()
    }

    pub fn is_selected(&self, key: &str) -> bool {
        self.selected.iter().any(|k| k == key)
    }

    /// Select or unselect a run.
    pub fn toggle_selected(&mut self, key: &str) {
        if self.is_selected(key) {
            self.selected.retain(|k| k != key);
        } else {
            self.selected.push(key.to_string());
        }
    }

    /// What a command acts on: the selected runs when there are any, else the focused one.
    pub fn targets(&self) -> Vec<&RunView> {
        let selected = self.selected_runs();
        if selected.is_empty() {
            self.focused_run().into_iter().collect()
        } else {
            selected
        }
    }

    /// Runs with a process that is (or will be) writing their folder.
    pub fn active(&self) -> Vec<&RunView> {
        self.order.iter().filter_map(|k| self.by_key.get(k)).filter(|r| r.is_active()).collect()
    }

    /// Move the focus `delta` rows through the visible list (from the top when nothing is focused).
    pub fn move_focus(&mut self, delta: isize) {
        let visible: Vec<RunKey> = self.visible().iter().map(|r| r.key.clone()).collect();
        if visible.is_empty() {
            return;
        }
        let at = self.focused.as_ref().and_then(|f| visible.iter().position(|k| k == f));
        let next = match at {
            None => 0,
            Some(i) => (i as isize + delta).clamp(0, visible.len() as isize - 1) as usize,
        };
        self.focused = Some(visible[next].clone());
    }
}
