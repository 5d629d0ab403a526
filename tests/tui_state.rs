//! State tests: events go into `App::update`; the resulting state and effects are checked.
// Test and benchmark code may unwrap and panic: a failure names its line (lints: Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use common::tui::*;
use common::*;
use crossterm::event::KeyCode;
use workbench::app::run_view::RunState;
use workbench::app::{Effect, Event, Pane, Popup};
use workbench::device::DeviceChoice;
use workbench::logging::LogLine;
use workbench::train::{spawn_run, EpochMetrics, MetricKind, RunControl, RunId, StopReason, TrainMsg};

fn started(effects: &[Effect]) -> Option<&workbench::train::RunRequest> {
    effects.iter().find_map(|e| match e {
        Effect::StartRun(r) => Some(r.as_ref()),
        _ => None,
    })
}

#[test]
fn tab_moves_between_panes_and_arrows_pick_a_dataset() {
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    assert_eq!(app.focus, Pane::Datasets);
    assert_eq!(app.selected_entry().unwrap().name, "iris", "the configured dataset is selected first");
    press(&mut app, &[key(KeyCode::Tab), key(KeyCode::Tab)]);
    assert_eq!(app.focus, Pane::Devices);
    press(&mut app, &[key(KeyCode::BackTab), key(KeyCode::BackTab), key(KeyCode::BackTab)]);
    assert_eq!(app.focus, Pane::Log, "Shift-Tab wraps around");
    press(&mut app, &[key(KeyCode::Tab), ch('j')]);
    assert_eq!(app.selected_entry().unwrap().name, "iris-binary");
    press(&mut app, &[key(KeyCode::Down), key(KeyCode::Down)]);
    assert_eq!(
        app.selected_entry().unwrap().name,
        app.catalog.as_ref().unwrap().entries.last().unwrap().name,
        "stops at the end"
    );
    press(&mut app, &[ch('k')]);
}

#[test]
fn s_starts_a_run_with_the_current_choices() {
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    let effects = press(&mut app, &[ch('s')]);
    let request = started(&effects).expect("a run starts");
    assert_eq!(request.spec.dataset, "iris");
    assert_eq!(request.spec.model, workbench::train::ModelKind::Mlp);
    assert_eq!(request.spec.epochs, 100);
    assert_eq!(request.device.name, "cpu", "auto picks the CPU when no GPU is usable");
    assert_eq!(request.runs_dir, runs.path());
    assert_eq!(app.focus, Pane::Charts);
    assert_eq!(app.run.as_ref().unwrap().state, RunState::Starting);

    // A second start while one is going is refused with a message.
    let again = press(&mut app, &[ch('s')]);
    assert!(started(&again).is_none());
    assert!(app.notice.as_ref().unwrap().text.contains("a run is going"));
}

#[test]
fn run_messages_drive_the_view_and_stale_ones_are_ignored() {
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    press(&mut app, &[ch('s')]);
    app.attach_run(RunId(7));
    let dir = PathBuf::from("runs/x");
    app.update(Event::Train(TrainMsg::Started {
        run: RunId(7),
        run_dir: dir.clone(),
        device_label: "CPU".into(),
        epochs: 2,
        steps_per_epoch: 8,
        train_samples: 120,
        val_samples: 30,
        placement: "all data in memory".into(),
    }));
    app.update(Event::Train(TrainMsg::Steps {
        run: RunId(7),
        epoch: 1,
        first_step: 0,
        losses: vec![1.0; 8],
    }));
    // A message from an older run must not touch the view.
    app.update(Event::Train(TrainMsg::Steps {
        run: RunId(3),
        epoch: 1,
        first_step: 0,
        losses: vec![9.0; 100],
    }));
    let metrics = EpochMetrics {
        epoch: 1,
        epochs: 2,
        global_step: 8,
        train_loss: 1.0,
        val_loss: Some(0.9),
        val_metric: Some(0.5),
        metric: MetricKind::Accuracy,
        samples_per_s: 1000.0,
        elapsed_s: 0.12,
    };
    app.update(Event::Train(TrainMsg::Epoch { run: RunId(7), metrics: metrics.clone() }));
    let run = app.run.as_ref().unwrap();
    assert_eq!(run.state, RunState::Running);
    assert_eq!(run.step_loss.len(), 8);
    assert_eq!(run.epoch_val_loss, vec![(1.0, 0.9)]);
    assert_eq!(run.elapsed_and_eta(), (0.12, Some(0.12)));

    assert!(matches!(press(&mut app, &[ch('p')])[..], [Effect::SetPaused(RunId(7), true)]));
    app.update(Event::Train(TrainMsg::Paused { run: RunId(7) }));
    assert_eq!(app.run.as_ref().unwrap().state, RunState::Paused);
    assert!(matches!(press(&mut app, &[ch('p')])[..], [Effect::SetPaused(RunId(7), false)]));
    assert!(matches!(press(&mut app, &[ch('x')])[..], [Effect::StopRun(RunId(7), StopReason::User)]));

    app.update(Event::Train(TrainMsg::Finished { run: RunId(7), run_dir: dir.clone(), last: Some(metrics) }));
    let run = app.run.as_ref().unwrap();
    assert_eq!(run.state, RunState::Finished);
    assert_eq!(run.epoch_train_loss.len(), 1, "the curves stay after the run ends");
    assert!(app.notice.as_ref().unwrap().text.contains("run finished"));
}

#[test]
fn q_asks_while_a_run_is_going() {
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    press(&mut app, &[ch('s')]);
    app.attach_run(RunId(1));
    assert!(press(&mut app, &[ch('q')]).is_empty());
    assert_eq!(app.popup, Some(Popup::ConfirmQuit));
    press(&mut app, &[ch('n')]);
    assert_eq!(app.popup, None);
    assert!(!app.should_quit);
    let effects = press(&mut app, &[ch('q'), ch('y')]);
    assert!(matches!(effects[..], [Effect::Quit]));
    assert!(app.should_quit);

    let mut idle = common::tui::app(runs.path(), 0);
    assert!(matches!(press(&mut idle, &[ch('q')])[..], [Effect::Quit]), "no run: q quits at once");
}

#[test]
fn signals_and_ctrl_c_quit_at_once() {
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    press(&mut app, &[ch('s')]);
    assert!(matches!(app.update(Event::Signal(1))[..], [Effect::Quit]));
    assert_eq!(app.quit_signal, Some(1), "the exit code will say SIGHUP ended it");
    let mut app = common::tui::app(runs.path(), 0);
    let ctrl_c = Event::Key(crossterm::event::KeyEvent::new(
        KeyCode::Char('c'),
        crossterm::event::KeyModifiers::CONTROL,
    ));
    assert!(matches!(app.update(ctrl_c)[..], [Effect::Quit]));
}

#[test]
fn the_runtime_menu_lists_devices_and_refuses_an_unavailable_gpu() {
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    press(&mut app, &[ch('r')]);
    assert_eq!(app.popup, Some(Popup::Runtime { selected: 0 }), "auto is chosen and highlighted");
    let options = app.runtime_options();
    assert_eq!(options.iter().map(|o| o.label.as_str()).collect::<Vec<_>>(), ["auto", "CPU", "GPU (CUDA)"]);
    assert!(options[2].disabled.as_ref().unwrap().contains("CPU-only"));
    press(&mut app, &[key(KeyCode::Down), key(KeyCode::Down), key(KeyCode::Enter)]);
    assert!(app.notice.as_ref().unwrap().is_error);
    assert!(app.notice.as_ref().unwrap().text.contains("not available"));
    assert_eq!(app.runtime, DeviceChoice::Auto, "nothing changed");
    press(&mut app, &[key(KeyCode::Up), key(KeyCode::Enter)]);
    assert_eq!(app.runtime, DeviceChoice::Cpu);
    assert_eq!(app.popup, None);
    assert_eq!(app.runtime_label(), "CPU");
}

#[test]
fn switching_runtime_mid_run_asks_to_keep_or_restart() {
    let runs = tempdir();
    let mut app = app(runs.path(), 1);
    app.runtime = DeviceChoice::Cpu;
    press(&mut app, &[ch('s')]);
    app.attach_run(RunId(4));
    // r, down to the GPU, Enter.
    press(&mut app, &[ch('r'), key(KeyCode::Down), key(KeyCode::Down), key(KeyCode::Enter)]);
    assert_eq!(app.popup, Some(Popup::ConfirmSwitch { device: DeviceChoice::Cuda(Some(0)) }));

    // Keep: the run goes on, the next one uses the GPU.
    let kept = press(&mut app, &[ch('k')]);
    assert!(kept.is_empty());
    assert_eq!(app.runtime, DeviceChoice::Cuda(Some(0)));
    assert!(app.run_is_active());

    // Restart: the old run is stopped (kept on disk) and a new one starts on the new device.
    press(&mut app, &[ch('r'), key(KeyCode::Up), key(KeyCode::Enter)]);
    assert_eq!(app.popup, Some(Popup::ConfirmSwitch { device: DeviceChoice::Cpu }));
    let effects = press(&mut app, &[ch('r')]);
    assert!(matches!(effects[0], Effect::StopRun(RunId(4), StopReason::User)));
    let request = started(&effects).expect("restarted");
    assert_eq!(request.device.name, "cpu");
    assert_eq!(app.run.as_ref().unwrap().id, None, "a new run view waits for its id");
}

#[test]
fn the_model_picker_refuses_a_model_that_does_not_fit() {
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    press(&mut app, &[key(KeyCode::Tab), key(KeyCode::Enter)]);
    assert!(matches!(app.popup, Some(Popup::ModelPicker { .. })));
    // Up to the top: adaline.
    press(
        &mut app,
        &[key(KeyCode::Up), key(KeyCode::Up), key(KeyCode::Up), key(KeyCode::Up), key(KeyCode::Enter)],
    );
    assert!(app.notice.as_ref().unwrap().text.contains("adaline needs exactly 2 classes"));
    assert_eq!(app.form.values.model, workbench::train::ModelKind::Mlp);
    press(
        &mut app,
        &[key(KeyCode::Esc), key(KeyCode::BackTab), ch('j'), key(KeyCode::Tab), key(KeyCode::Enter)],
    );
    press(&mut app, &[key(KeyCode::Up), key(KeyCode::Up), key(KeyCode::Up), key(KeyCode::Enter)]);
    assert_eq!(app.form.values.model, workbench::train::ModelKind::Adaline, "iris-binary has two classes");
}

#[test]
fn a_bad_hyperparameter_is_refused_in_place() {
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    press(&mut app, &[key(KeyCode::Tab), ch('j'), key(KeyCode::Enter)]);
    assert_eq!(app.form.editing.as_deref(), Some("100"));
    // While editing, letters are typed, not commands.
    press(
        &mut app,
        &[
            key(KeyCode::Backspace),
            key(KeyCode::Backspace),
            key(KeyCode::Backspace),
            ch('s'),
            key(KeyCode::Enter),
        ],
    );
    assert_eq!(app.form.values.epochs, 100);
    assert!(app.form.error.as_ref().unwrap().contains("epochs \"s\" is not a whole number"));
    assert!(app.run.is_none(), "s did not start a run while typing");
    press(
        &mut app,
        &[
            key(KeyCode::Enter),
            key(KeyCode::Backspace),
            key(KeyCode::Backspace),
            key(KeyCode::Backspace),
            ch('7'),
            key(KeyCode::Enter),
        ],
    );
    assert_eq!(app.form.values.epochs, 7);
    assert_eq!(app.form.error, None);
    let effects = press(&mut app, &[ch('s')]);
    assert_eq!(started(&effects).unwrap().spec.epochs, 7);
}

#[test]
fn config_reloads_keep_the_last_good_settings() {
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    let before = app.settings.clone();
    assert!(app.update(Event::ConfigLoaded(Err("config.toml is invalid: line 3".into()))).is_empty());
    assert_eq!(app.settings, before);
    assert_eq!(app.config_error.as_deref(), Some("config.toml is invalid: line 3"));

    let mut edited = before.clone();
    edited.train.epochs = 5;
    edited.ui.fps = 4;
    assert!(
        app.update(Event::ConfigLoaded(Ok(edited.clone()))).is_empty(),
        "no dataset setting changed: no rescan"
    );
    assert_eq!(app.form.values.epochs, 5, "an edited config value reaches the form");
    assert_eq!(app.settings.ui.fps, 4);
    assert_eq!(app.config_error, None);

    let mut moved = edited;
    moved.datasets_dir = runs.path().to_path_buf();
    assert!(matches!(app.update(Event::ConfigLoaded(Ok(moved)))[..], [Effect::Rescan]));
    assert!(matches!(app.update(Event::DatasetsChanged)[..], [Effect::Rescan]));
}

#[test]
fn rescans_keep_the_selection_and_logs_are_kept() {
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    press(&mut app, &[ch('j')]);
    app.update(Event::Catalog(shipped_catalog()));
    assert_eq!(app.selected_entry().unwrap().name, "iris-binary");
    for i in 0..600 {
        app.update(Event::Log(LogLine {
            level: tracing::Level::WARN,
            target: "t".into(),
            message: format!("m{i}"),
        }));
    }
    assert_eq!(app.log.len(), 500);
    assert_eq!(app.log.back().unwrap().message, "m599");
}

#[test]
fn chart_toggles() {
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    press(&mut app, &[ch('l'), ch('m'), ch('w')]);
    assert!(app.chart.log_y && app.chart.smooth && app.chart.recent);
    press(&mut app, &[ch('l')]);
    assert!(!app.chart.log_y);
}

/// The whole path without a terminal: the key starts a real run on the worker, its messages come
/// back through the app, and the app ends up showing the finished run.
#[test]
fn a_real_run_started_from_the_keyboard_finishes_in_the_view() {
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    app.form.values.epochs = 15;
    let effects = press(&mut app, &[ch('s')]);
    let Some(Effect::StartRun(request)) = effects.into_iter().next() else { panic!("no run") };
    let (tx, rx) = mpsc::channel();
    let handle = spawn_run(*request, RunControl::new(), move |m| tx.send(m).is_ok()).unwrap();
    app.attach_run(handle.id);
    loop {
        let msg = rx.recv_timeout(Duration::from_secs(60)).expect("the run reports");
        let last = msg.is_final();
        app.update(Event::Train(msg));
        if last {
            break;
        }
    }
    handle.join();
    let run = app.run.as_ref().unwrap();
    assert_eq!(run.state, RunState::Finished);
    assert_eq!(run.epoch_train_loss.len(), 15);
    assert_eq!(run.step_loss.len(), 15 * 8);
    assert!(run.run_dir.as_ref().unwrap().join("run.toml").is_file());
    assert!(run.last.as_ref().unwrap().val_metric.unwrap() > 0.8);
}
