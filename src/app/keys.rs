//! Keys: popups first, then a text edit in progress (a form field, the runs filter), then the
//! global keys, then the focused pane.
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::form::Activate;
use super::line_edit::{edit_line, LineKey};
use super::runs::RunFilter;
use super::{App, Effect, Pane, Popup};

impl App {
    pub(super) fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        if key.kind == KeyEventKind::Release {
            self.dirty = false;
            return Vec::new();
        }
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            // Runs are processes of their own: Ctrl-C leaves them running.
            self.should_quit = true;
            return vec![Effect::Quit { stop_runs: false }];
        }
        self.notice = None;
        if let Some(popup) = self.popup.clone() {
            return self.on_popup_key(popup, key);
        }
        if self.form.editing.is_some() {
            self.on_edit_key(key);
            return Vec::new();
        }
        if self.filter_input.is_some() {
            self.on_filter_key(key);
            return Vec::new();
        }
        match key.code {
            KeyCode::Char('q') => self.ask_quit(),
            KeyCode::Char('?') => {
                self.popup = Some(Popup::Help);
                self.help_scroll = 0;
                Vec::new()
            }
            KeyCode::Char('r') => {
                let options = self.runtime_options();
                let selected = options.iter().position(|o| o.choice == Some(self.runtime)).unwrap_or(0);
                self.popup = Some(Popup::Runtime { selected });
                Vec::new()
            }
            KeyCode::Char('s') => self.start_run(self.runtime),
            KeyCode::Char('S') => self.open_submit(),
            KeyCode::Char('Q') => self.queue_run(self.runtime),
            KeyCode::Char('c') => self.start_race(),
            KeyCode::Char('x') => self.stop_runs(),
            KeyCode::Char('p') => self.toggle_pause(),
            KeyCode::Char('R') => self.resume_runs(),
            KeyCode::Char('e') => self.export_runs(),
            KeyCode::Char('a') => {
                self.chart.x_axis = self.chart.x_axis.next();
                self.notify(format!("x axis: {}", self.chart.x_axis.label()));
                Vec::new()
            }
            KeyCode::Char('/') => {
                self.focus = Pane::Runs;
                self.filter_input =
                    Some(self.runs.filter.as_ref().map(|f| f.text.clone()).unwrap_or_default());
                Vec::new()
            }
            KeyCode::Char(' ') => {
                match self.runs.focused.clone() {
                    Some(key) => self.runs.toggle_selected(&key),
                    None => self.notify_error("no run focused: pick one in the runs pane (Tab to it)"),
                }
                Vec::new()
            }
            KeyCode::Char('l') => {
                self.chart.log_y = !self.chart.log_y;
                Vec::new()
            }
            KeyCode::Char('m') => {
                self.chart.smooth = !self.chart.smooth;
                Vec::new()
            }
            KeyCode::Char('w') => {
                self.chart.recent = !self.chart.recent;
                Vec::new()
            }
            KeyCode::Char('t') => {
                self.open_tag_picker();
                Vec::new()
            }
            KeyCode::Char('b') => {
                self.open_board();
                Vec::new()
            }
            KeyCode::Char('o') => {
                self.focus_pane(Pane::Runs);
                Vec::new()
            }
            KeyCode::Tab => {
                self.cycle_focus(1);
                Vec::new()
            }
            KeyCode::BackTab => {
                self.cycle_focus(-1);
                Vec::new()
            }
            _ => self.on_pane_key(key),
        }
    }

    fn cycle_focus(&mut self, delta: isize) {
        let n = Pane::ORDER.len() as isize;
        let i = Pane::ORDER.iter().position(|p| *p == self.focus).unwrap_or(0) as isize;
        self.focus_pane(Pane::ORDER[((i + delta).rem_euclid(n)) as usize]);
    }

    fn focus_pane(&mut self, pane: Pane) {
        self.focus = pane;
        // Arriving at the runs pane with nothing focused focuses its top run, so Space, Enter and
        // the charts act on the run the user sees highlighted.
        if self.focus == Pane::Runs && self.runs.focused.is_none() {
            self.runs.move_focus(0);
        }
    }

    fn on_pane_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let delta = match key.code {
            KeyCode::Up | KeyCode::Char('k') => -1,
            KeyCode::Down | KeyCode::Char('j') => 1,
            _ => 0,
        };
        match self.focus {
            Pane::Datasets => {
                let count = self.catalog.as_ref().map(|c| c.entries.len()).unwrap_or(0);
                if delta != 0 && count > 0 {
                    self.selected_dataset =
                        (self.selected_dataset as isize + delta).clamp(0, count as isize - 1) as usize;
                } else if key.code == KeyCode::Enter {
                    self.focus = Pane::Model;
                }
            }
            Pane::Model => {
                if delta != 0 {
                    self.form.move_selection(delta);
                } else if matches!(key.code, KeyCode::Left | KeyCode::Right | KeyCode::Char('h')) {
                    self.form.cycle(1);
                } else if key.code == KeyCode::Enter && self.form.activate() == Activate::PickModel {
                    let current = self.form.current_pick();
                    let selected = self.form.choices().iter().position(|m| *m == current).unwrap_or(0);
                    self.popup = Some(Popup::ModelPicker { selected });
                }
            }
            Pane::Devices => {
                if key.code == KeyCode::Enter {
                    // The whole reason CUDA is unusable, when there is one; else the runtime menu.
                    let why = self.devices.as_ref().and_then(|d| d.cuda_unavailable.clone());
                    match why {
                        Some(text) => {
                            self.popup =
                                Some(Popup::Details { title: "Why the GPU is not usable".into(), text })
                        }
                        None => return self.on_key(KeyEvent::from(KeyCode::Char('r'))),
                    }
                }
            }
            Pane::Runs => {
                if delta != 0 {
                    self.runs.move_focus(delta);
                } else if key.code == KeyCode::Home {
                    self.runs.focused = None;
                    self.runs.move_focus(0);
                } else if key.code == KeyCode::Char('g') {
                    match self.runs.toggle_fold() {
                        Some((sweep, true)) => {
                            self.notify(format!("sweep {sweep} folded into one row; g unfolds it"))
                        }
                        Some((sweep, false)) => self.notify(format!("sweep {sweep} unfolded")),
                        None => {
                            self.notify_error("g folds a sweep's runs into one row: focus a run of a sweep")
                        }
                    }
                } else if key.code == KeyCode::Enter {
                    self.open_run_details();
                } else if key.code == KeyCode::Esc {
                    self.runs.filter = None;
                }
            }
            Pane::Log => {
                let len = self.log.len();
                self.log_scroll =
                    (self.log_scroll as isize - delta).clamp(0, len.saturating_sub(1) as isize) as usize;
            }
            Pane::Charts => {
                if key.code == KeyCode::Enter {
                    self.open_run_details();
                }
            }
        }
        Vec::new()
    }

    /// The focused run's full status, reason or problem, and folder, in a popup.
    fn open_run_details(&mut self) {
        let Some(run) = self.focused_run() else { return };
        let mut text = format!("status: {}", run.status_label());
        if let Some(reason) = run.full_reason() {
            text.push_str(&format!("\n\n{reason}"));
        }
        if let Some(job) = self.cluster_jobs.get(&run.key) {
            text.push_str(&format!("\n\n{} job {}", job.scheduler, job.job_id));
            if let Some(state) = &job.state {
                text.push_str(&format!(": {}", crate::cluster::poll::describe(state)));
            }
        }
        text.push_str(&format!("\n\nfolder: {}", run.dir.display()));
        let title = run.key.clone();
        self.popup = Some(Popup::Details { title, text });
    }

    /// Typing the runs filter: it applies as it is typed; Enter keeps it, Esc clears it.
    fn on_filter_key(&mut self, key: KeyEvent) {
        let Some(text) = self.filter_input.as_mut() else { return };
        match edit_line(text, &key, 64) {
            LineKey::Enter => self.filter_input = None,
            LineKey::Esc => {
                self.filter_input = None;
                self.runs.filter = None;
            }
            LineKey::Changed => {
                let text = text.clone();
                // The focused run stays focused even when the filter hides it: the charts don't jump.
                self.runs.filter = (!text.is_empty()).then(|| RunFilter::new(&text));
            }
            LineKey::Other => {}
        }
    }

    fn on_edit_key(&mut self, key: KeyEvent) {
        let Some(text) = self.form.editing.as_mut() else { return };
        match edit_line(text, &key, 64) {
            LineKey::Enter => {
                if let Err(why) = self.form.commit() {
                    self.notify_error(why.0);
                }
            }
            LineKey::Esc => self.form.cancel(),
            LineKey::Changed | LineKey::Other => {}
        }
    }

    fn on_popup_key(&mut self, popup: Popup, key: KeyEvent) -> Vec<Effect> {
        if let Popup::Tags(picker) = popup {
            self.on_tag_picker_key(picker, key);
            return Vec::new();
        }
        if let Popup::Submit(form) = popup {
            return self.on_submit_key(form, key);
        }
        if let Popup::Board(board) = popup {
            return self.on_board_key(*board, key);
        }
        if let Popup::Sweeps { selected } = popup {
            self.on_sweeps_key(selected, key);
            return Vec::new();
        }
        let delta = match key.code {
            KeyCode::Up | KeyCode::Char('k') => -1,
            KeyCode::Down | KeyCode::Char('j') => 1,
            _ => 0,
        };
        match popup {
            Popup::Help => {
                if matches!(key.code, KeyCode::Esc | KeyCode::Char('?') | KeyCode::Char('q') | KeyCode::Enter)
                {
                    self.popup = None;
                } else if delta != 0 {
                    // The renderer clamps it to what the terminal's height leaves hidden.
                    self.help_scroll = self.help_scroll.saturating_add_signed(delta as i16).min(64);
                }
            }
            Popup::Runtime { selected } => {
                let options = self.runtime_options();
                match key.code {
                    KeyCode::Esc | KeyCode::Char('r') | KeyCode::Char('q') => self.popup = None,
                    KeyCode::Enter => {
                        let option = &options[selected.min(options.len() - 1)];
                        match (option.choice, &option.disabled) {
                            (Some(choice), None) => return self.choose_runtime(choice),
                            (_, Some(why)) => {
                                self.notify_error(format!("{} is not available: {why}", option.label))
                            }
                            (None, None) => {}
                        }
                    }
                    _ if delta != 0 => {
                        let selected =
                            (selected as isize + delta).clamp(0, options.len() as isize - 1) as usize;
                        self.popup = Some(Popup::Runtime { selected });
                    }
                    _ => {}
                }
            }
            Popup::ModelPicker { selected } => match key.code {
                KeyCode::Esc | KeyCode::Char('q') => self.popup = None,
                KeyCode::Enter => {
                    let choices = self.form.choices();
                    let pick = choices[selected.min(choices.len() - 1)].clone();
                    let summary = self.selected_entry().and_then(|e| e.summary.as_ref().ok());
                    let chosen = self.form.pick_fits(&pick, summary).map_err(|why| why.to_string());
                    match chosen.and_then(|()| self.form.pick(pick)) {
                        Err(why) => self.notify_error(why),
                        Ok(()) => self.popup = None,
                    }
                }
                _ if delta != 0 => {
                    let n = self.form.choices().len() as isize;
                    let selected = (selected as isize + delta).clamp(0, n - 1) as usize;
                    self.popup = Some(Popup::ModelPicker { selected });
                }
                _ => {}
            },
            Popup::ConfirmQuit { .. } => match key.code {
                // Leaving them running is the default: Enter, l, or q again.
                KeyCode::Enter | KeyCode::Char('l') | KeyCode::Char('q') => return self.quit(false),
                KeyCode::Char('s') => return self.quit(true),
                KeyCode::Esc | KeyCode::Char('n') => self.popup = None,
                _ => {}
            },
            Popup::Details { .. } => {
                if matches!(key.code, KeyCode::Esc | KeyCode::Enter | KeyCode::Char('q')) {
                    self.popup = None;
                }
            }
            Popup::Tags(_) | Popup::Submit(_) | Popup::Board(_) | Popup::Sweeps { .. } => {}
            Popup::ConfirmFit { spec, .. } => match key.code {
                KeyCode::Enter => {
                    self.popup = None;
                    return self.ask_start(*spec, true);
                }
                KeyCode::Esc | KeyCode::Char('n') => {
                    self.popup = None;
                    self.notify("not started: lower the batch size or the hidden sizes, then s");
                }
                _ => {}
            },
            Popup::ConfirmSweep(ask) => match key.code {
                KeyCode::Enter => return self.confirm_sweep(*ask),
                KeyCode::Esc | KeyCode::Char('n') | KeyCode::Char('q') => {
                    self.popup = None;
                    self.notify("not queued; a field with one value makes s start a single run again");
                }
                _ => {}
            },
            Popup::ConfirmSwitch { device } => match key.code {
                KeyCode::Char('k') => return self.confirm_switch(device, false),
                KeyCode::Char('r') => return self.confirm_switch(device, true),
                KeyCode::Char('m') => return self.move_run(device),
                KeyCode::Esc | KeyCode::Char('n') => self.popup = None,
                _ => {}
            },
        }
        Vec::new()
    }
}
