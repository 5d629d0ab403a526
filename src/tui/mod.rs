//! The full-screen terminal UI: sets up the terminal and the event sources, runs the loop
//! (block on the next event, apply it and every queued one, draw at most `fps` times a second
//! and only when something changed), and restores everything on the way out.
pub mod cluster_watch;
mod queue_watch;
mod runner;
mod sources;
pub mod stderr;
pub mod terminal;
mod workers;

use std::io::IsTerminal;
use std::path::Path;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::app::{App, Event};
use crate::config::{CliOverrides, Settings};
use runner::Runner;
use sources::Sources;

/// Open the TUI. Returns the exit code.
pub fn run(settings: &Settings, cli: &CliOverrides, log_file: Option<&Path>) -> anyhow::Result<i32> {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        bail!(
            "the TUI needs a terminal, and stdin or stdout is not one. For scripts, logs and batch jobs use \
             `workbench train --dataset NAME` (see `workbench train --help`)"
        );
    }
    let ascii = settings.ui.ascii || !locale_is_utf8();
    let (tx, rx) = mpsc::channel();
    let tap_tx = tx.clone();
    crate::logging::set_tap(move |line| {
        let _ = tap_tx.send(Event::Log(line));
    });
    if let Some(file) = log_file {
        tracing::info!("workbench {} started; log file {}", env!("CARGO_PKG_VERSION"), file.display());
    }

    let mut app = App::new(settings.clone(), ascii);
    let mut runner = Runner::new(tx.clone(), cli.clone());
    let mut sources = Sources::start(&tx).context("could not start the input and signal threads")?;
    sources.watch(&tx, &settings.datasets_dir, settings.config_path.as_deref());
    runner.probe();
    runner.scan(settings);
    runner.follow_runs(settings);

    let mut terminal = terminal::enter(settings.ui.mouse)
        .context("could not set up the terminal")
        .map_err(|e| with_log_file(e, log_file))?;
    // Gives the screen back however this function is left: a return, an error, a panic.
    let screen = terminal::Restore;
    let _stderr_reader = stderr::capture().map_err(|e| tracing::warn!("stderr is not captured: {e}")).ok();
    workers::test_panic("main");
    let result = event_loop(&mut terminal, &mut app, &mut runner, &mut sources, &tx, &rx);

    // Leaving: background jobs end, then the screen is given back; runs go on by themselves.
    runner.shutdown();
    drop(screen);
    crate::logging::clear_tap();
    drop(sources);
    result.map_err(|e| with_log_file(e, log_file))?;
    if let Some(error) = app.fatal_error.take() {
        return Err(with_log_file(anyhow::anyhow!(error), log_file));
    }
    // Like a shell's: 129 after SIGHUP, 143 after SIGTERM; 0 after q or Ctrl-C.
    Ok(app.quit_signal.map_or(0, |signal| 128 + signal))
}

/// The error, with where the log file is: the details are there, the screen is gone.
fn with_log_file(error: anyhow::Error, log_file: Option<&Path>) -> anyhow::Error {
    match log_file {
        Some(file) => anyhow::anyhow!("{error:#}; details in {}", file.display()),
        None => error,
    }
}

fn event_loop(
    terminal: &mut terminal::Term,
    app: &mut App,
    runner: &mut Runner,
    sources: &mut Sources,
    tx: &mpsc::Sender<Event>,
    rx: &Receiver<Event>,
) -> anyhow::Result<()> {
    let mut last_draw: Option<Instant> = None;
    loop {
        let frame_interval = Duration::from_secs_f64(1.0 / app.settings.ui.fps.max(1) as f64);
        if app.dirty {
            let due = last_draw.is_none_or(|t| t.elapsed() >= frame_interval);
            if due {
                terminal.draw(|frame| crate::ui::render(app, frame)).context("could not draw")?;
                app.dirty = false;
                last_draw = Some(Instant::now());
            }
        }
        // Block until the next event; while a frame is owed, only until it is due.
        let wait = match (app.dirty, last_draw) {
            (true, Some(t)) => frame_interval.saturating_sub(t.elapsed()),
            _ => Duration::from_secs(3600),
        };
        let first = match rx.recv_timeout(wait) {
            Ok(event) => event,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return Ok(()),
        };
        // Apply it and everything already queued, then draw once.
        let mut next = Some(first);
        let mut handled = 0;
        while let Some(event) = next.take() {
            handle(event, app, runner, sources, tx);
            if app.should_quit {
                return Ok(());
            }
            handled += 1;
            if handled < 10_000 {
                next = rx.try_recv().ok();
            }
        }
    }
}

fn handle(event: Event, app: &mut App, runner: &mut Runner, sources: &mut Sources, tx: &mpsc::Sender<Event>) {
    runner.observe(&event, app);
    let config_reloaded = matches!(&event, Event::ConfigLoaded(r) if r.is_ok());
    for effect in app.update(event) {
        runner.apply(effect, app);
    }
    if config_reloaded {
        sources.watch(tx, &app.settings.datasets_dir, app.settings.config_path.as_deref());
        runner.follow_runs(&app.settings);
    }
}

/// Box drawing and braille need a UTF-8 locale; without one the UI draws in ASCII.
pub fn locale_is_utf8() -> bool {
    for var in ["LC_ALL", "LC_CTYPE", "LANG"] {
        if let Ok(value) = std::env::var(var) {
            if !value.is_empty() {
                let v = value.to_ascii_lowercase();
                return v.contains("utf-8") || v.contains("utf8");
            }
        }
    }
    false
}
