//! Carries out the app's effects: background scans, config reloads, commands to run folders.
//! Runs are processes of their own (started, resumed and exported by the lead's wiring, still
//! to come in this branch: until then those effects say so in the footer).
use std::io::Write;
use std::sync::mpsc::Sender;
use std::thread::JoinHandle;

use crate::app::{App, Effect, Event};
use crate::config::{CliOverrides, Settings};
use crate::data::Catalog;

pub struct Runner {
    tx: Sender<Event>,
    cli: CliOverrides,
    jobs: Vec<JoinHandle<()>>,
    scanning: bool,
    scan_again: bool,
}

impl Runner {
    pub fn new(tx: Sender<Event>, cli: CliOverrides) -> Runner {
        Runner { tx, cli, jobs: Vec::new(), scanning: false, scan_again: false }
    }

    /// Look at an event before the app does, for what the runner itself tracks.
    pub fn observe(&mut self, event: &Event, app: &App) {
        if let Event::Catalog(_) = event {
            self.scanning = false;
            if std::mem::take(&mut self.scan_again) {
                self.scan(&app.settings);
            }
        }
        self.jobs.retain(|j| !j.is_finished());
    }

    pub fn apply(&mut self, effect: Effect, app: &mut App) {
        match effect {
            Effect::StartRun { .. } | Effect::ResumeRun { .. } => {
                app.start_failed("runs as processes are not wired into this TUI yet")
            }
            Effect::Export { .. } => app.export_failed("export is not wired into this TUI yet"),
            Effect::Control { dir, command, .. } => {
                // One line appended (O_APPEND): two viewers may write at once.
                let path = dir.join(crate::runs::events::CONTROL_FILE);
                let written = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .and_then(|mut f| writeln!(f, "{}", command.as_line()));
                if let Err(e) = written {
                    app.effect_failed(&format!("could not write {}: {e}", path.display()));
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
            Effect::Quit { .. } => {}
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

    /// Wait for the background jobs. Runs are processes of their own and go on.
    pub fn shutdown(&mut self) {
        for job in self.jobs.drain(..) {
            let _ = job.join();
        }
    }
}
