//! `S`: the submit popup. It turns the current dataset, model and form into a cluster job with
//! the same planner as `workbench submit` ([`crate::cluster::submit::plan`]), shows the job file
//! that `--dry-run` would print, and on Enter asks the runner to submit it
//! ([`Effect::Submit`]) on a worker thread; the answer comes back as [`Event::Submitted`].
use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyEvent};

use super::{App, Effect, Popup};
use crate::cluster::submit::{self, SubmitPlan, SubmitRequest, Submitted};
use crate::cluster::{ClusterError, ClusterReport, Scheduler};
use crate::train::TrainSpec;

/// The popup's rows, in order.
pub const FIELDS: [&str; 5] = ["scheduler", "GPUs", "time", "memory", "partition"];

/// The submit popup's state: the fields as typed, and the plan they make (or why they make none).
#[derive(Debug, Clone, PartialEq)]
pub struct SubmitForm {
    pub scheduler: Scheduler,
    pub gpus: String,
    /// `2h`, `90m`, `02:00:00`; empty: the partition's default.
    pub time: String,
    /// `16G`; empty: the cluster's default.
    pub mem: String,
    /// Empty: the cluster's default partition.
    pub partition: String,
    /// The highlighted row, an index into [`FIELDS`].
    pub selected: usize,
    /// Lines of the job file scrolled past.
    pub scroll: u16,
    /// The training parameters when the popup opened (the device follows the GPUs asked for).
    pub spec: TrainSpec,
    /// The dataset's file or folder.
    pub dataset_path: PathBuf,
    /// The plan the fields make, or why they make none.
    pub plan: Result<SubmitPlan, String>,
}

impl SubmitForm {
    /// The request the fields make.
    pub fn request(&self) -> Result<SubmitRequest, ClusterError> {
        let gpus = match self.gpus.trim() {
            "" => 0,
            n => n.parse::<u32>().map_err(|_| ClusterError::BadValue {
                flag: "GPUs",
                value: n.to_string(),
                hint: "type a whole number, 0 for none".into(),
            })?,
        };
        let text = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
        Ok(SubmitRequest {
            scheduler: Some(self.scheduler),
            gpus,
            cpus: None,
            time: text(&self.time),
            mem: text(&self.mem),
            partition: text(&self.partition),
        })
    }

    fn field_mut(&mut self) -> Option<&mut String> {
        match self.selected {
            1 => Some(&mut self.gpus),
            2 => Some(&mut self.time),
            3 => Some(&mut self.mem),
            4 => Some(&mut self.partition),
            _ => None,
        }
    }
}

impl App {
    /// `S`: open the submit popup for the current choices.
    pub(super) fn open_submit(&mut self) -> Vec<Effect> {
        let checked = self.check_choices();
        let (entry_path, spec) = match checked {
            Ok(found) => found,
            Err(why) => {
                self.notify_error(why);
                return Vec::new();
            }
        };
        let cfg = &self.settings.cluster;
        let scheduler = cfg.scheduler.as_deref().and_then(|s| s.parse().ok()).unwrap_or(Scheduler::Slurm);
        let mem = match scheduler {
            Scheduler::Slurm => cfg.slurm.mem.clone(),
            Scheduler::Condor => cfg.condor.mem.clone(),
        };
        let mut form = SubmitForm {
            scheduler,
            gpus: "0".into(),
            time: cfg.slurm.time.clone().unwrap_or_default(),
            mem: mem.unwrap_or_default(),
            partition: cfg.slurm.partition.clone().unwrap_or_default(),
            selected: 0,
            scroll: 0,
            spec,
            dataset_path: entry_path,
            plan: Err(String::new()),
        };
        self.replan(&mut form);
        self.popup = Some(Popup::Submit(Box::new(form)));
        Vec::new()
    }

    /// Plan again from the fields, with the same planner as `workbench submit`.
    fn replan(&self, form: &mut SubmitForm) {
        form.plan = form
            .request()
            .and_then(|request| {
                let mut spec = form.spec.clone();
                // The job runs on a compute node: its GPUs if it asked for some, else its CPUs.
                spec.device = if request.gpus > 0 { "cuda" } else { "cpu" }.into();
                submit::plan(&self.settings, &spec, &form.dataset_path, &request)
            })
            .map_err(|e| e.to_string());
    }

    pub(super) fn on_submit_key(&mut self, mut form: Box<SubmitForm>, key: KeyEvent) -> Vec<Effect> {
        let n = FIELDS.len();
        let mut changed = false;
        match key.code {
            KeyCode::Esc => {
                self.popup = None;
                self.notify("submission cancelled");
                return Vec::new();
            }
            KeyCode::Enter => {
                return match &form.plan {
                    Ok(plan) => {
                        self.popup = None;
                        self.notify(format!("submitting to {}...", plan.job.scheduler));
                        vec![Effect::Submit { plan: Box::new(plan.clone()) }]
                    }
                    Err(why) => {
                        self.notify_error(format!("can't submit: {why}"));
                        self.popup = Some(Popup::Submit(form));
                        Vec::new()
                    }
                };
            }
            KeyCode::Up | KeyCode::BackTab => form.selected = (form.selected + n - 1) % n,
            KeyCode::Down | KeyCode::Tab => form.selected = (form.selected + 1) % n,
            KeyCode::PageDown => form.scroll = form.scroll.saturating_add(10),
            KeyCode::PageUp => form.scroll = form.scroll.saturating_sub(10),
            KeyCode::Left | KeyCode::Right | KeyCode::Char(' ') if form.selected == 0 => {
                form.scheduler = match form.scheduler {
                    Scheduler::Slurm => Scheduler::Condor,
                    Scheduler::Condor => Scheduler::Slurm,
                };
                changed = true;
            }
            KeyCode::Backspace => {
                if let Some(text) = form.field_mut() {
                    text.pop();
                    changed = true;
                }
            }
            KeyCode::Char(c) if !c.is_control() => {
                if let Some(text) = form.field_mut() {
                    if text.chars().count() < 40 {
                        text.push(c);
                        changed = true;
                    }
                }
            }
            _ => {}
        }
        if changed {
            self.replan(&mut form);
        }
        self.popup = Some(Popup::Submit(form));
        Vec::new()
    }

    /// The runner submitted a job ([`Effect::Submit`]), or could not.
    pub(super) fn on_submitted(&mut self, result: Result<Submitted, String>) {
        match result {
            Ok(done) => {
                self.notify(format!(
                    "submitted {} job {} (run {}); it shows queued until it starts",
                    done.job.scheduler, done.job.job_id, done.run_id
                ));
                self.cluster_jobs.insert(
                    done.run_id.clone(),
                    crate::cluster::ClusterJob {
                        key: done.run_id.clone(),
                        scheduler: done.job.scheduler,
                        job_id: done.job.job_id.clone(),
                        state: None,
                    },
                );
                self.started_run(&done.run_id);
            }
            Err(why) => {
                self.notify_error("the submission failed (Esc closes the details)");
                self.popup = Some(Popup::Details { title: "Submission failed".into(), text: why });
            }
        }
    }

    /// What the cluster watcher learnt: each cluster run's job, and what its scheduler says.
    pub(super) fn on_cluster(&mut self, report: ClusterReport) {
        for job in report.jobs {
            let keep = self.cluster_jobs.get(&job.key).and_then(|old| old.state.clone());
            let state = job.state.clone().or(keep);
            self.cluster_jobs.insert(job.key.clone(), crate::cluster::ClusterJob { state, ..job });
        }
        if let Some(first) = report.errors.first() {
            if self.cluster_error.as_deref() != Some(first.as_str()) {
                self.cluster_error = Some(first.clone());
                self.notify_error(format!("asking the scheduler failed: {first}"));
            }
        } else {
            self.cluster_error = None;
        }
    }
}
