//! Carries out the app's effects: runs on worker threads, background scans, config reloads.
//! It holds every worker's handle, so quitting can interrupt each run and wait for its files.
use std::collections::HashMap;
use std::sync::mpsc::Sender;
use std::thread::JoinHandle;

use crate::app::{App, Effect, Event};
use crate::config::{CliOverrides, Settings};
use crate::data::Catalog;
use crate::train::{spawn_run, RunControl, RunHandle, RunId, StopReason};

pub struct Runner {
    tx: Sender<Event>,
    cli: CliOverrides,
    runs: HashMap<RunId, RunHandle>,
    jobs: Vec<JoinHandle<()>>,
    scanning: bool,
    scan_again: bool,
}

impl Runner {
    pub fn new(tx: Sender<Event>, cli: CliOverrides) -> Runner {
        Runner { tx, cli, runs: HashMap::new(), jobs: Vec::new(), scanning: false, scan_again: false }
    }

    /// Look at an event before the app does, for what the runner itself tracks.
    pub fn observe(&mut self, event: &Event, app: &App) {
        match event {
            Event::Train(msg) if msg.is_final() => {
                if let Some(handle) = self.runs.remove(&msg.run()) {
                    handle.join(); // it has sent its last message, so this returns at once
                }
            }
            Event::Catalog(_) => {
                self.scanning = false;
                if std::mem::take(&mut self.scan_again) {
                    self.scan(&app.settings);
                }
            }
            _ => {}
        }
        self.jobs.retain(|j| !j.is_finished());
    }

    pub fn apply(&mut self, effect: Effect, app: &mut App) {
        match effect {
            Effect::StartRun(request) => {
                let tx = self.tx.clone();
                match spawn_run(*request, RunControl::new(), move |m| tx.send(Event::Train(m)).is_ok()) {
                    Ok(handle) => {
                        app.attach_run(handle.id);
                        self.runs.insert(handle.id, handle);
                    }
                    Err(e) => app.run_failed_to_start(format!("could not start the training thread: {e}")),
                }
            }
            Effect::StopRun(id, reason) => {
                if let Some(h) = self.runs.get(&id) {
                    h.stop(reason);
                }
            }
            Effect::SetPaused(id, paused) => {
                if let Some(h) = self.runs.get(&id) {
                    h.set_paused(paused);
                }
            }
            Effect::Rescan => {
                if self.scanning {
                    self.scan_again = true; // coalesce bursts of file events into one more scan
                } else {
                    self.scan(&app.settings);
                }
            }
            Effect::ReloadConfig => {
                let (tx, cli) = (self.tx.clone(), self.cli.clone());
                self.job("config", move || {
                    let result = Settings::load(&cli).map_err(|e| e.to_string());
                    if let Err(e) = &result {
                        // To the log file and the log pane; the app keeps the last good settings.
                        tracing::error!("{e}; the last good settings stay in force");
                    }
                    let _ = tx.send(Event::ConfigLoaded(result));
                });
            }
            Effect::Quit => {}
        }
    }

    /// Scan the datasets folder on a background thread; the result comes back as an event.
    pub fn scan(&mut self, settings: &Settings) {
        self.scanning = true;
        let tx = self.tx.clone();
        let settings = settings.clone();
        self.job("scan", move || {
            let _ = tx.send(Event::Catalog(Catalog::scan_settings(&settings)));
        });
    }

    /// Probe the devices on a background thread.
    pub fn probe(&mut self) {
        let tx = self.tx.clone();
        self.job("probe", move || {
            let _ = tx.send(Event::Devices(crate::device::probe()));
        });
    }

    fn job(&mut self, name: &str, f: impl FnOnce() + Send + 'static) {
        match std::thread::Builder::new().name(name.into()).spawn(f) {
            Ok(j) => self.jobs.push(j),
            Err(e) => tracing::error!("could not start the {name} thread: {e}"),
        }
    }

    /// Interrupt every run and wait until each has flushed its files and marked itself interrupted.
    pub fn shutdown(&mut self) {
        for handle in self.runs.values() {
            handle.stop(StopReason::Interrupted);
        }
        for (_, handle) in self.runs.drain() {
            handle.join();
        }
        for job in self.jobs.drain(..) {
            let _ = job.join();
        }
    }
}
