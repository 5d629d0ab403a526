//! State tests: events go into `App::update`; the resulting state and effects are checked.
// Test and benchmark code may unwrap and panic: a failure names its line (lints: Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use std::path::PathBuf;

use common::tui::*;
use common::*;
use crossterm::event::KeyCode;
use workbench::app::compare::{diff_rows, XAxis};
use workbench::app::{App, Effect, Event, Pane, Popup, Worker};
use workbench::device::DeviceChoice;
use workbench::logging::LogLine;
use workbench::runs::{ControlCommand, LiveState, RunEvent, RunStatus};
use workbench::train::TrainSpec;

fn started(effects: &[Effect]) -> Option<&TrainSpec> {
    effects.iter().find_map(|e| match e {
        Effect::StartRun { spec, .. } => Some(spec),
        _ => None,
    })
}

/// Feed one run folder: its `run.toml`, then `epochs` epochs of curves.
fn add_run(app: &mut App, key: &str, status: RunStatus, lr: f64, epochs: u32) {
    app.update(Event::Runs(vec![meta_event(run_meta(key, "iris", status, lr, 20))]));
    app.update(Event::Runs(curve_events(key, epochs, 1.0)));
}

fn listed(app: &App) -> Vec<String> {
    app.runs.visible().iter().map(|r| r.key.clone()).collect()
}

fn control(effects: &[Effect]) -> Vec<(String, ControlCommand)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Control { key, command, .. } => Some((key.clone(), command.clone())),
            _ => None,
        })
        .collect()
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
fn s_starts_a_run_and_focuses_it_when_its_folder_appears() {
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    add_run(&mut app, "20261126-110000-iris-mlp-cpu", RunStatus::Finished, 0.01, 20);
    let effects = press(&mut app, &[ch('s')]);
    let spec = started(&effects).expect("a run starts");
    assert_eq!(spec.dataset, "iris");
    assert_eq!(spec.model, workbench::train::ModelKind::Mlp);
    assert_eq!(spec.epochs, 100);
    assert_eq!(spec.device, "auto");
    assert_eq!(app.focus, Pane::Charts);
    assert_eq!(app.focused_run(), None, "nothing to focus until its folder shows up");

    // A second start before the first shows up is refused with a message.
    let again = press(&mut app, &[ch('s')]);
    assert!(started(&again).is_none());
    assert!(app.notice.as_ref().unwrap().text.contains("a run is starting"));

    // The runner created its queued folder; the follower reports it.
    let key = "20261126-120000-iris-mlp-cpu";
    app.update(Event::Runs(vec![meta_event(run_meta(key, "iris", RunStatus::Queued, 0.01, 100))]));
    assert_eq!(app.focused_run().unwrap().key, key);
    assert_eq!(app.expecting, None);
    assert!(started(&press(&mut app, &[ch('s')])).is_some(), "the next start is allowed");

    // Or the runner names the folder it made.
    app.started_run("20261126-130000-iris-mlp-cpu");
    app.update(Event::Runs(vec![meta_event(run_meta(
        "20261126-130000-iris-mlp-cpu",
        "iris",
        RunStatus::Running,
        0.01,
        100,
    ))]));
    assert_eq!(app.focused_run().unwrap().key, "20261126-130000-iris-mlp-cpu");
    app.start_failed("no space left on device");
    assert!(app.notice.as_ref().unwrap().is_error);
}

#[test]
fn runs_are_listed_newest_first_and_a_folder_of_another_process_appears_live() {
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    add_run(&mut app, "20261126-100000-iris-mlp-cpu", RunStatus::Finished, 0.01, 20);
    add_run(&mut app, "20261126-120000-iris-mlp-cpu", RunStatus::Stopped, 0.1, 5);
    add_run(&mut app, "20261126-110000-iris-mlp-cpu", RunStatus::Failed, 0.5, 3);
    assert_eq!(
        listed(&app),
        ["20261126-120000-iris-mlp-cpu", "20261126-110000-iris-mlp-cpu", "20261126-100000-iris-mlp-cpu"]
    );

    // `workbench train` in another shell: its folder shows up and grows as the run goes.
    let other = "20261126-130000-iris-mlp-cpu";
    app.update(Event::Runs(vec![meta_event(run_meta(other, "iris", RunStatus::Running, 0.01, 20))]));
    assert_eq!(listed(&app)[0], other);
    assert_eq!(app.focused_run(), None, "a run this TUI didn't start doesn't take the focus");
    let events = curve_events(other, 2, 1.0);
    app.update(Event::Runs(events[..2].to_vec()));
    let run = app.runs.get(other).unwrap();
    assert_eq!((run.epochs_done(), run.step_loss.len()), (1, 8));
    app.update(Event::Runs(events[2..].to_vec()));
    let run = app.runs.get(other).unwrap();
    assert_eq!((run.epochs_done(), run.step_loss.len()), (2, 16));
    assert!(run.best_metric().unwrap() > 0.54);
    assert_eq!(run.steps_per_epoch(), 8);
    assert!(run.is_active());

    // It ends: the follower reports its new run.toml; the curves stay.
    let mut meta = run_meta(other, "iris", RunStatus::Finished, 0.01, 20);
    meta.epochs_completed = 2;
    app.update(Event::Runs(vec![meta_event(meta)]));
    let run = app.runs.get(other).unwrap();
    assert_eq!(run.status, Some(RunStatus::Finished));
    assert_eq!(run.epochs.len(), 2);

    app.update(Event::Runs(vec![RunEvent::Removed { key: other.into() }]));
    assert_eq!(listed(&app).len(), 3);
}

#[test]
fn problem_folders_are_listed_with_their_problem() {
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    add_run(&mut app, "20261126-100000-iris-mlp-cpu", RunStatus::Finished, 0.01, 3);
    app.update(Event::Runs(vec![RunEvent::Problem {
        key: "20261126-110000-broken".into(),
        dir: PathBuf::from("runs/20261126-110000-broken"),
        problem: "run.toml: expected `=` at line 3; made by another version?".into(),
    }]));
    assert_eq!(listed(&app), ["20261126-110000-broken", "20261126-100000-iris-mlp-cpu"]);
    let broken = app.runs.get("20261126-110000-broken").unwrap();
    assert_eq!(broken.status_label(), "problem");
    assert!(!broken.is_active() && !broken.can_resume());

    // Enter on it in the runs pane shows the whole problem.
    app.focus = Pane::Runs;
    press(&mut app, &[ch('j'), key(KeyCode::Enter)]);
    match &app.popup {
        Some(Popup::Details { text, .. }) => assert!(text.contains("made by another version?"), "{text}"),
        other => panic!("no details: {other:?}"),
    }
    press(&mut app, &[key(KeyCode::Esc)]);
    assert_eq!(app.popup, None);
    // Nothing to export or resume there.
    assert!(press(&mut app, &[ch('e'), ch('R')]).is_empty());
}

#[test]
fn space_selects_and_commands_act_on_the_selection_or_the_focused_run() {
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    add_run(&mut app, "20261126-100000-iris-mlp-cpu", RunStatus::Running, 0.01, 3);
    add_run(&mut app, "20261126-110000-iris-mlp-cpu", RunStatus::Paused, 0.1, 3);
    add_run(&mut app, "20261126-120000-iris-mlp-cpu", RunStatus::Interrupted, 0.5, 3);
    assert_eq!(app.runs.focused, None);
    assert!(press(&mut app, &[ch('x')]).is_empty(), "nothing focused, nothing selected");
    assert!(app.notice.as_ref().unwrap().is_error);

    press(&mut app, &[key(KeyCode::Tab), key(KeyCode::Tab), key(KeyCode::Tab)]);
    assert_eq!(app.focus, Pane::Runs);
    assert_eq!(
        app.focused_run().unwrap().key,
        "20261126-120000-iris-mlp-cpu",
        "arriving at the runs pane focuses the top"
    );
    // The focused run alone: an interrupted run resumes; it can't be paused or stopped.
    let effects = press(&mut app, &[ch('R')]);
    assert!(matches!(&effects[..], [Effect::ResumeRun { key, dir }]
        if key == "20261126-120000-iris-mlp-cpu" && dir.ends_with("20261126-120000-iris-mlp-cpu")));
    assert!(press(&mut app, &[ch('p')]).is_empty());

    // Select the two below it.
    press(&mut app, &[ch('j'), ch(' '), ch('j'), ch(' ')]);
    assert_eq!(app.runs.selected, ["20261126-110000-iris-mlp-cpu", "20261126-100000-iris-mlp-cpu"]);
    assert_eq!(
        control(&press(&mut app, &[ch('p')])),
        [
            ("20261126-110000-iris-mlp-cpu".to_string(), ControlCommand::Resume),
            ("20261126-100000-iris-mlp-cpu".to_string(), ControlCommand::Pause)
        ]
    );
    assert_eq!(control(&press(&mut app, &[ch('x')])).len(), 2);
    assert!(app.notice.as_ref().unwrap().text.contains("stopping 2 runs"));
    let export = press(&mut app, &[ch('e')]);
    assert!(
        matches!(&export[..], [Effect::Export { dirs, names }] if dirs.len() == 2 && names[0] == "20261126-110000-iris-mlp-cpu")
    );
    app.exported(&[PathBuf::from("/tmp/runs.csv"), PathBuf::from("/tmp/runs.svg")]);
    assert!(app.notice.as_ref().unwrap().text.contains("/tmp/runs.csv, /tmp/runs.svg"));

    // Space again unselects.
    press(&mut app, &[ch(' ')]);
    assert_eq!(app.runs.selected, ["20261126-110000-iris-mlp-cpu"]);
}

#[test]
fn the_filter_takes_a_substring_or_a_regex_and_esc_clears_it() {
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    add_run(&mut app, "20261126-100000-iris-mlp-cpu", RunStatus::Finished, 0.01, 3);
    add_run(&mut app, "20261126-110000-iris-mlp-cpu", RunStatus::Failed, 0.1, 3);
    let mut cuda = run_meta("20261126-120000-digits-cnn-cuda0", "digits", RunStatus::Running, 0.01, 20);
    cuda.device = "cuda:0".into();
    cuda.model = "cnn".into();
    app.update(Event::Runs(vec![meta_event(cuda)]));

    press(&mut app, &[ch('/')]);
    assert_eq!(app.focus, Pane::Runs);
    assert_eq!(app.filter_input.as_deref(), Some(""));
    // Typed letters filter as they are typed; they are not commands (x would stop a run).
    let effects = press(&mut app, &[ch('C'), ch('U'), ch('D'), ch('A')]);
    assert!(effects.is_empty());
    assert_eq!(listed(&app), ["20261126-120000-digits-cnn-cuda0"], "device, any case");
    press(&mut app, &[key(KeyCode::Enter)]);
    assert_eq!(app.filter_input, None);
    assert_eq!(listed(&app).len(), 1, "Enter keeps the filter");

    // A regex over the status.
    press(&mut app, &[ch('/')]);
    for _ in 0..4 {
        press(&mut app, &[key(KeyCode::Backspace)]);
    }
    for c in "^(fail|fin)".chars() {
        press(&mut app, &[ch(c)]);
    }
    assert!(app.runs.filter.as_ref().unwrap().is_regex());
    assert_eq!(listed(&app), ["20261126-110000-iris-mlp-cpu", "20261126-100000-iris-mlp-cpu"]);
    // Not a regex: taken as text.
    press(&mut app, &[key(KeyCode::Esc), ch('/'), ch('m'), ch('l'), ch('p'), ch('(')]);
    assert!(!app.runs.filter.as_ref().unwrap().is_regex());
    assert!(listed(&app).is_empty());
    press(&mut app, &[key(KeyCode::Esc)]);
    assert!(app.runs.filter.is_none(), "Esc clears it");
    assert_eq!(listed(&app).len(), 3);
}

#[test]
fn the_diff_table_holds_only_what_differs_and_the_metrics() {
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    add_run(&mut app, "20261126-100000-iris-mlp-cpu", RunStatus::Finished, 0.01, 20);
    add_run(&mut app, "20261126-110000-iris-mlp-cpu", RunStatus::Finished, 0.1, 10);
    let selected: Vec<_> = ["20261126-100000-iris-mlp-cpu", "20261126-110000-iris-mlp-cpu"]
        .iter()
        .map(|k| app.runs.get(k).unwrap())
        .collect();
    let rows = diff_rows(&selected);
    let params: Vec<&str> = rows.iter().filter(|r| !r.metric).map(|r| r.name.as_str()).collect();
    assert_eq!(params, ["lr"], "only the learning rate differs");
    assert_eq!(rows[0].values, ["0.01", "0.1"]);
    let names: Vec<&str> = rows.iter().filter(|r| r.metric).map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        ["status", "epochs done", "final train loss", "final val loss", "final val_acc", "best val_acc"]
    );
    let done = rows.iter().find(|r| r.name == "epochs done").unwrap();
    assert_eq!(done.values, ["20", "10"]);

    // Another optimizer and seed show too; identical ones don't.
    let mut meta = run_meta("20261126-120000-iris-mlp-cpu", "iris", RunStatus::Finished, 0.01, 20);
    meta.hyperparameters.optimizer = workbench::train::OptimizerKind::Sgd;
    meta.hyperparameters.seed = 7;
    app.update(Event::Runs(vec![meta_event(meta)]));
    let selected: Vec<_> = ["20261126-100000-iris-mlp-cpu", "20261126-120000-iris-mlp-cpu"]
        .iter()
        .map(|k| app.runs.get(k).unwrap())
        .collect();
    let rows = diff_rows(&selected);
    let params: Vec<&str> = rows.iter().filter(|r| !r.metric).map(|r| r.name.as_str()).collect();
    assert_eq!(params, ["optimizer", "seed"]);
}

#[test]
fn q_asks_while_runs_are_going_and_leaving_them_is_the_default() {
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    add_run(&mut app, "20261126-100000-iris-mlp-cpu", RunStatus::Running, 0.01, 1);
    add_run(&mut app, "20261126-110000-iris-mlp-cpu", RunStatus::Finished, 0.01, 1);
    assert!(press(&mut app, &[ch('q')]).is_empty());
    assert_eq!(app.popup, Some(Popup::ConfirmQuit { active: 1 }));
    press(&mut app, &[key(KeyCode::Esc)]);
    assert_eq!(app.popup, None);
    assert!(!app.should_quit);

    let effects = press(&mut app, &[ch('q'), key(KeyCode::Enter)]);
    assert_eq!(effects, [Effect::Quit { stop_runs: false }]);
    assert!(app.should_quit);

    let mut app2 = common::tui::app(runs.path(), 0);
    add_run(&mut app2, "20261126-100000-iris-mlp-cpu", RunStatus::Running, 0.01, 1);
    assert_eq!(press(&mut app2, &[ch('q'), ch('l')]), [Effect::Quit { stop_runs: false }]);

    let mut app3 = common::tui::app(runs.path(), 0);
    add_run(&mut app3, "20261126-100000-iris-mlp-cpu", RunStatus::Running, 0.01, 1);
    add_run(&mut app3, "20261126-090000-iris-mlp-cpu", RunStatus::Queued, 0.01, 0);
    let effects = press(&mut app3, &[ch('q'), ch('s')]);
    assert_eq!(control(&effects).len(), 2, "every run going is stopped: {effects:?}");
    assert!(control(&effects).iter().all(|(_, c)| *c == ControlCommand::Stop));
    assert_eq!(effects.last(), Some(&Effect::Quit { stop_runs: true }));

    let mut idle = common::tui::app(runs.path(), 0);
    add_run(&mut idle, "20261126-110000-iris-mlp-cpu", RunStatus::Finished, 0.01, 1);
    assert_eq!(
        press(&mut idle, &[ch('q')]),
        [Effect::Quit { stop_runs: false }],
        "no run going: q quits at once"
    );
}

#[test]
fn signals_and_ctrl_c_leave_the_runs_running() {
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    add_run(&mut app, "20261126-100000-iris-mlp-cpu", RunStatus::Running, 0.01, 1);
    assert_eq!(app.update(Event::Signal(1)), [Effect::Quit { stop_runs: false }]);
    assert_eq!(app.quit_signal, Some(1), "the exit code will say SIGHUP ended it");
    let mut app = common::tui::app(runs.path(), 0);
    add_run(&mut app, "20261126-100000-iris-mlp-cpu", RunStatus::Running, 0.01, 1);
    let ctrl_c = Event::Key(crossterm::event::KeyEvent::new(
        KeyCode::Char('c'),
        crossterm::event::KeyModifiers::CONTROL,
    ));
    assert_eq!(app.update(ctrl_c), [Effect::Quit { stop_runs: false }]);
}

#[test]
fn a_long_reason_is_one_key_away() {
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    press(&mut app, &[key(KeyCode::Tab), key(KeyCode::Tab), key(KeyCode::Enter)]);
    match &app.popup {
        Some(Popup::Details { text, .. }) => assert!(text.contains("it has no libtorch_cuda.so"), "{text}"),
        other => panic!("no details: {other:?}"),
    }
    // With a GPU, Enter opens the runtime menu as before.
    let mut app = common::tui::app(runs.path(), 1);
    press(&mut app, &[key(KeyCode::Tab), key(KeyCode::Tab), key(KeyCode::Enter)]);
    assert!(matches!(app.popup, Some(Popup::Runtime { .. })));
}

#[test]
fn staging_heartbeats_reach_the_focused_run() {
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    let key = "20261126-100000-shapes-cnn-cpu";
    app.started_run(key);
    app.update(Event::Runs(vec![meta_event(run_meta(key, "shapes", RunStatus::Running, 0.01, 5))]));
    let live = |phase: &str, done, ms| RunEvent::Live {
        key: key.into(),
        live: LiveState {
            phase: phase.into(),
            done,
            total: 100,
            epoch: 0,
            step: 0,
            updated_unix_ms: ms,
            pid: 1,
            host: "h".into(),
            samples_per_s: None,
            eta_s: None,
        },
    };
    app.update(Event::Runs(vec![live("reading", 10, 1_000), live("reading", 30, 3_000)]));
    let run = app.focused_run().unwrap();
    assert_eq!(run.phase_started_ms, Some(1_000), "the phase's clock starts at its first heartbeat");
    app.update(Event::Runs(vec![live("decoding", 5, 4_000)]));
    assert_eq!(app.focused_run().unwrap().phase_started_ms, Some(4_000), "a new phase, a new clock");
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
    let run = "20261126-100000-iris-mlp-cpu";
    app.started_run(run);
    add_run(&mut app, run, RunStatus::Running, 0.01, 1);
    assert!(app.run_is_active());
    // r, down to the GPU, Enter.
    press(&mut app, &[ch('r'), key(KeyCode::Down), key(KeyCode::Down), key(KeyCode::Enter)]);
    assert_eq!(app.popup, Some(Popup::ConfirmSwitch { device: DeviceChoice::Cuda(Some(0)) }));

    // Keep: the run goes on, the next one uses the GPU.
    let kept = press(&mut app, &[ch('k')]);
    assert!(kept.is_empty());
    assert_eq!(app.runtime, DeviceChoice::Cuda(Some(0)));

    // Restart: the old run is stopped (kept on disk) and a new one starts on the new device.
    press(&mut app, &[ch('r'), key(KeyCode::Up), key(KeyCode::Enter)]);
    assert_eq!(app.popup, Some(Popup::ConfirmSwitch { device: DeviceChoice::Cpu }));
    let effects = press(&mut app, &[ch('r')]);
    assert_eq!(control(&effects), [(run.to_string(), ControlCommand::Stop)]);
    assert_eq!(started(&effects).expect("restarted").device, "cpu");
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
    assert!(app.expecting.is_none(), "s did not start a run while typing");
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
    assert_eq!(started(&effects).unwrap().epochs, 7);
}

#[test]
fn config_reloads_keep_the_last_good_settings() {
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    let before = app.settings.clone();
    assert!(app
        .update(Event::ConfigLoaded(Box::new(Err("config.toml is invalid: line 3".into()))))
        .is_empty());
    assert_eq!(app.settings, before);
    assert_eq!(app.config_error.as_deref(), Some("config.toml is invalid: line 3"));

    let mut edited = before.clone();
    edited.train.epochs = 5;
    edited.ui.fps = 4;
    assert!(
        app.update(Event::ConfigLoaded(Box::new(Ok(edited.clone())))).is_empty(),
        "no dataset setting changed: no rescan"
    );
    assert_eq!(app.form.values.epochs, 5, "an edited config value reaches the form");
    assert_eq!(app.settings.ui.fps, 4);
    assert_eq!(app.config_error, None);

    let mut moved = edited;
    moved.datasets_dir = runs.path().to_path_buf();
    assert!(matches!(app.update(Event::ConfigLoaded(Box::new(Ok(moved))))[..], [Effect::Rescan]));
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
fn chart_toggles_and_the_x_axis_cycles() {
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    press(&mut app, &[ch('l'), ch('m'), ch('w')]);
    assert!(app.chart.log_y && app.chart.smooth && app.chart.recent);
    press(&mut app, &[ch('l')]);
    assert!(!app.chart.log_y);
    assert_eq!(app.chart.x_axis, XAxis::Epoch);
    press(&mut app, &[ch('a')]);
    assert_eq!(app.chart.x_axis, XAxis::Step);
    press(&mut app, &[ch('a')]);
    assert_eq!(app.chart.x_axis, XAxis::Wall);
    assert!(app.notice.as_ref().unwrap().text.contains("wall time"));
    press(&mut app, &[ch('a')]);
    assert_eq!(app.chart.x_axis, XAxis::Epoch);
}

#[test]
fn runs_logged_by_other_tools_are_listed_and_drawn() {
    use workbench::runs::events::{ExternalKind, ScalarPoint};
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    let key = "tb/lightning_logs/version_3";
    app.update(Event::Runs(vec![RunEvent::External {
        key: key.into(),
        dir: PathBuf::from("/logs/tb/lightning_logs/version_3"),
        kind: ExternalKind::TensorBoard,
        hparams: vec![("lr".into(), "0.001".into())],
        problem: None,
    }]));
    let points = |values: &[f64]| -> Vec<ScalarPoint> {
        values
            .iter()
            .enumerate()
            .map(|(i, &value)| ScalarPoint {
                step: i as i64,
                wall_time: 1.7e9 + i as f64,
                value,
                epoch: None,
            })
            .collect()
    };
    app.update(Event::Runs(vec![
        RunEvent::Scalars { key: key.into(), tag: "val/loss".into(), points: points(&[0.9, 0.8]) },
        RunEvent::Scalars { key: key.into(), tag: "train/loss".into(), points: points(&[1.0, 0.7, 0.5]) },
    ]));
    let run = app.runs.get(key).unwrap();
    assert_eq!(run.status_label(), "tensorboard");
    assert_eq!(run.loss_tag.as_deref(), Some("train/loss"), "a validation loss is not the training loss");
    assert_eq!(run.step_loss.values(), [1.0, 0.7, 0.5]);
    assert_eq!(run.step_to_wall(2.0), Some(2.0), "seconds since its first point");
    assert_eq!(run.last_scalars.get("val/loss"), Some(&0.8));
    app.runs.focused = Some(key.into());
    assert!(matches!(&press(&mut app, &[ch('e')])[..], [Effect::Export { names, .. }] if names[0] == key));
    press(&mut app, &[ch('/'), ch('t'), ch('e'), ch('n'), ch('s')]);
    assert_eq!(listed(&app), [key], "the filter sees its kind");
}

/// An external run with `tags` (each a few points), as the follower reports it.
fn add_external(app: &mut App, key: &str, tags: &[&str]) {
    use workbench::runs::events::{ExternalKind, ScalarPoint};
    let mut events = vec![RunEvent::External {
        key: key.into(),
        dir: PathBuf::from("/logs").join(key),
        kind: ExternalKind::TensorBoard,
        hparams: Vec::new(),
        problem: None,
    }];
    for (n, tag) in tags.iter().enumerate() {
        let points: Vec<ScalarPoint> = (0..5)
            .map(|i| ScalarPoint {
                step: i * 10,
                wall_time: 1.7e9 + i as f64,
                value: 1.0 / (1.0 + i as f64) + n as f64 * 0.01,
                epoch: None,
            })
            .collect();
        events.push(RunEvent::Scalars { key: key.into(), tag: tag.to_string(), points });
    }
    app.update(Event::Runs(events));
}

fn picker(app: &App) -> workbench::app::tags::TagPicker {
    match &app.popup {
        Some(Popup::Tags(p)) => p.clone(),
        other => panic!("the tag picker is not open: {other:?}"),
    }
}

#[test]
fn the_tag_picker_lists_dozens_of_tags_filters_and_toggles_what_is_drawn() {
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    let mut tags: Vec<String> = (0..40).map(|i| format!("layers/{i:02}/grad_norm")).collect();
    tags.extend(["loss/train".into(), "accuracy/val".into(), "lr-Adam".into()]);
    let tag_refs: Vec<&str> = tags.iter().map(String::as_str).collect();
    add_external(&mut app, "exp-a", &tag_refs);
    app.runs.focused = Some("exp-a".into());
    assert!(app.chart_tags.is_empty(), "by default the loss and metric charts");
    assert_eq!(app.runs.get("exp-a").unwrap().loss_tag.as_deref(), Some("loss/train"));
    assert_eq!(app.runs.get("exp-a").unwrap().step_number(4.0), 40.0, "the step the loss was logged at");

    press(&mut app, &[ch('t')]);
    let p = picker(&app);
    let entries = app.tag_entries(&p);
    assert_eq!(entries.len(), 43, "every tag, once");
    assert_eq!(entries[0].tag, "accuracy/val", "sorted by name");
    assert_eq!((entries[0].runs, entries[0].points), (1, 5));
    // Scrolling: the last row is reachable and drawn.
    press(&mut app, &[key(KeyCode::End)]);
    assert_eq!(picker(&app).cursor, 42);
    let text = screen(&app, 100, 30);
    assert!(text.contains("[ ] lr-Adam"), "{text}");
    assert!(!text.contains("accuracy/val"), "scrolled past the first rows: {text}");
    press(&mut app, &[key(KeyCode::PageUp), key(KeyCode::Down)]);
    assert_eq!(picker(&app).cursor, 33);

    // `/` filters; j and k are text while typing, not moves.
    press(&mut app, &[ch('/'), ch('a'), ch('c'), ch('c')]);
    let p = picker(&app);
    assert!(p.typing);
    assert_eq!(p.filter, "acc");
    assert_eq!(p.cursor, 0);
    let shown: Vec<String> = app.tag_entries(&p).into_iter().map(|e| e.tag).collect();
    assert_eq!(shown, ["accuracy/val"]);
    press(&mut app, &[key(KeyCode::Enter), ch(' ')]);
    assert!(app.chart_tags.contains("accuracy/val"));
    press(&mut app, &[ch('/'), key(KeyCode::Backspace), key(KeyCode::Backspace), key(KeyCode::Backspace)]);
    press(&mut app, &[ch('G'), ch('K'), ch('_'), key(KeyCode::Enter)]);
    assert_eq!(picker(&app).filter, "GK_", "typed, ignoring case when matching");
    assert!(app.tag_entries(&picker(&app)).is_empty());
    press(&mut app, &[ch('/'), key(KeyCode::Esc)]);
    assert_eq!(app.tag_entries(&picker(&app)).len(), 43, "Esc clears the filter");
    press(&mut app, &[ch('j'), ch(' ')]);
    assert!(app.chart_tags.contains("layers/00/grad_norm"), "j moved down one row");
    press(&mut app, &[ch('k'), ch(' ')]);
    assert!(!app.chart_tags.contains("accuracy/val"), "Space again hides it");
    let text = screen(&app, 100, 30);
    assert!(text.contains("[x] layers/00/grad_norm"), "{text}");

    press(&mut app, &[key(KeyCode::Enter)]);
    assert_eq!(app.popup, None, "Enter closes");
    let text = screen(&app, 120, 40);
    assert!(text.contains("Tags: 1"), "the chart draws the chosen tag: {text}");
    assert!(text.contains("■ layers/00/grad_norm"), "with a legend: {text}");
    // Hiding the last chosen tag brings the default charts back.
    press(&mut app, &[ch('t'), ch('j'), ch(' '), key(KeyCode::Esc)]);
    assert!(app.chart_tags.is_empty());
    assert!(!screen(&app, 120, 40).contains("Tags: "));
}

#[test]
fn the_tag_picker_lists_the_union_of_the_selected_runs_with_counts() {
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    add_external(&mut app, "exp-a", &["loss/train", "lr"]);
    add_external(&mut app, "exp-b/version_0", &["loss/train", "accuracy/val"]);
    add_run(&mut app, "20260101-000000-own", RunStatus::Finished, 0.01, 3);
    for key in ["exp-a", "exp-b/version_0", "20260101-000000-own"] {
        app.runs.focused = Some(key.into());
        press(&mut app, &[ch(' ')]);
    }
    press(&mut app, &[ch('t')]);
    let entries = app.tag_entries(&picker(&app));
    let row = |tag: &str| entries.iter().find(|e| e.tag == tag).map(|e| (e.runs, e.points));
    assert_eq!(row("loss/train"), Some((2, 10)), "{entries:?}");
    assert_eq!(row("lr"), Some((1, 5)));
    assert_eq!(row("accuracy/val"), Some((1, 5)));
    // The workbench's own run offers its series under the names `workbench export` uses.
    assert_eq!(row("step_loss"), Some((1, 24)));
    assert_eq!(row("val_accuracy"), Some((1, 3)));
    assert_eq!(row("val_loss"), Some((1, 3)));
    let pick = |app: &mut App, tag: &str| {
        let i = app.tag_entries(&picker(app)).iter().position(|e| e.tag == tag).unwrap();
        press(app, &[key(KeyCode::Home)]);
        for _ in 0..i {
            press(app, &[ch('j')]);
        }
        press(app, &[ch(' ')]);
    };
    pick(&mut app, "loss/train");
    pick(&mut app, "val_loss");
    press(&mut app, &[key(KeyCode::Enter)]);
    let text = screen(&app, 140, 40);
    assert!(text.contains("Tags: 2"), "{text}");
    for curve in ["exp-a loss/train", "exp-b/version_0 loss/train", "own val_loss"] {
        assert!(text.contains(curve), "{curve} in the legend: {text}");
    }
}

#[test]
fn t_without_a_run_in_the_charts_says_so() {
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    press(&mut app, &[ch('t')]);
    assert_eq!(app.popup, None);
    assert!(app.notice.as_ref().unwrap().is_error);
}

/// Tabbing into the runs pane focuses its top run, so Space selects what the user sees
/// highlighted and the charts show it (they showed the dataset preview before).
#[test]
fn tabbing_into_the_runs_pane_focuses_its_top_run() {
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    for key in ["20261126-090000-iris-mlp-cpu", "20261126-100000-iris-mlp-cpu"] {
        app.update(Event::Runs(vec![meta_event(run_meta(key, "iris", RunStatus::Finished, 0.01, 20))]));
    }
    assert_eq!(app.runs.focused, None);
    press(&mut app, &[key(KeyCode::Tab), key(KeyCode::Tab), key(KeyCode::Tab)]);
    assert_eq!(app.focus, Pane::Runs);
    let top = app.runs.visible()[0].key.clone();
    assert_eq!(app.runs.focused.as_ref(), Some(&top));
    press(&mut app, &[ch(' ')]);
    assert!(app.runs.selected.contains(&top), "Space selects the highlighted run");
}

#[test]
fn the_race_key_without_a_gpu_explains_why_and_with_one_races_the_cpu_against_it() {
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    let effects = press(&mut app, &[ch('c')]);
    assert!(effects.is_empty(), "{effects:?}");
    let notice = app.notice.as_ref().expect("a notice");
    assert!(notice.is_error);
    assert!(notice.text.contains("needs a GPU") && notice.text.contains("CPU-only"), "{}", notice.text);
    assert!(notice.text.contains("--against cpu"), "what to do instead: {}", notice.text);

    let mut app = app_with_gpu(runs.path());
    let effects = press(&mut app, &[ch('c')]);
    assert!(matches!(effects.as_slice(), [Effect::StartRace { gpu: 0, .. }]), "{effects:?}");
    app.started_race(&["a".to_string(), "b".to_string()]);
    assert_eq!(app.runs.selected, ["a", "b"], "both curves overlay");
}

fn app_with_gpu(runs: &std::path::Path) -> App {
    app(runs, 1)
}

#[test]
fn the_switch_popup_moves_the_run_with_m() {
    let runs = tempdir();
    let mut app = app(runs.path(), 1);
    app.runtime = DeviceChoice::Cpu;
    let run = "20261126-100000-iris-mlp-cpu";
    app.started_run(run);
    add_run(&mut app, run, RunStatus::Running, 0.01, 1);
    press(&mut app, &[ch('r'), key(KeyCode::Down), key(KeyCode::Down), key(KeyCode::Enter)]);
    assert_eq!(app.popup, Some(Popup::ConfirmSwitch { device: DeviceChoice::Cuda(Some(0)) }));
    let effects = press(&mut app, &[ch('m')]);
    assert_eq!(
        control(&effects),
        [(run.to_string(), ControlCommand::Move { device: "cuda:0".into(), threads: None })]
    );
    assert!(started(&effects).is_none(), "a move starts no new run");
    assert_eq!(app.popup, None);
}

#[test]
fn a_run_that_may_not_fit_asks_before_it_starts() {
    let runs = tempdir();
    let mut app = app(runs.path(), 1);
    let effects = press(&mut app, &[ch('s')]);
    assert!(
        effects.iter().any(|e| matches!(e, Effect::StartRun { skip_fit_check: false, .. })),
        "the first ask is checked: {effects:?}"
    );
    let spec = started(&effects).unwrap().clone();
    // The runner's plan says it won't fit: it starts nothing and tells the app.
    let warning = "this run may not fit: it needs about 90 GiB of 70 GiB free on cuda:0 (...). Lower the \
                   batch size or the hidden sizes, or keep the data on the CPU";
    app.may_not_fit(spec.clone(), warning.into());
    assert!(matches!(&app.popup, Some(Popup::ConfirmFit { warning: w, .. }) if w == warning));
    assert_eq!(app.expecting, None, "nothing is starting while the popup asks");
    let text = screen(&app, 120, 40);
    assert!(text.contains("needs about 90 GiB of 70 GiB free") && text.contains("start anyway"), "{text}");

    // Other keys leave the question open; Enter starts it anyway, skipping the check.
    assert!(press(&mut app, &[ch('x')]).is_empty());
    assert!(app.popup.is_some());
    let effects = press(&mut app, &[key(KeyCode::Enter)]);
    assert_eq!(effects, [Effect::StartRun { spec: spec.clone(), skip_fit_check: true }]);
    assert_eq!(app.popup, None);
    assert!(app.expecting.is_some(), "the run is expected in the runs pane");

    // Esc cancels: nothing starts, and s asks again later.
    app.may_not_fit(spec, warning.into());
    assert!(press(&mut app, &[key(KeyCode::Esc)]).is_empty());
    assert_eq!(app.popup, None);
    assert!(app.notice.as_ref().unwrap().text.contains("not started"));
    assert!(started(&press(&mut app, &[ch('s')])).is_some(), "a new start is allowed");
}

#[test]
fn a_dataset_scan_that_panicked_shows_its_error_instead_of_scanning_forever() {
    let runs = tempdir();
    let mut app = App::new(settings(runs.path()), false);
    app.update(Event::Devices(devices(0)));
    assert!(screen(&app, 100, 30).contains("scanning..."), "before the scan answers");
    let failed = Event::WorkerFailed { worker: Worker::Scan, message: "index out of bounds".into() };
    assert!(app.update(failed).is_empty());
    let shown = screen(&app, 160, 30);
    assert!(!shown.contains("scanning..."), "{shown}");
    assert!(shown.contains("dataset scan failed"), "{shown}");
    let notice = app.notice.as_ref().expect("the footer says so too");
    assert!(notice.is_error && notice.text.contains("index out of bounds"), "{notice:?}");

    // The device probe's pane says why instead of "probing..."; a dead keyboard reader ends the TUI.
    let mut app = App::new(settings(runs.path()), false);
    app.update(Event::WorkerFailed { worker: Worker::Probe, message: "no cpuinfo".into() });
    let shown = screen(&app, 160, 30);
    assert!(shown.contains("device probe failed") && !shown.contains("probing..."), "{shown}");
    let effects = app.update(Event::WorkerFailed { worker: Worker::Input, message: "tty gone".into() });
    assert_eq!(effects, vec![Effect::Quit { stop_runs: false }]);
    assert!(app.should_quit && app.fatal_error.as_deref().is_some_and(|e| e.contains("tty gone")));
}

/// `Q` asks the runner to queue what the form describes (not to start it); the queue watcher's
/// snapshot is state, and the runs pane and the devices pane draw it: `queued N`, the focused
/// queued run's place and reason, each device's room.
#[test]
fn shift_q_queues_and_the_queue_is_drawn_from_its_snapshot() {
    let dir = tempdir();
    let mut app = app(&dir.path().join("runs"), 1);
    let effects = press(&mut app, &[ch('Q')]);
    assert!(started(&effects).is_none(), "Q starts nothing");
    assert!(
        matches!(effects.as_slice(), [Effect::QueueRun { spec }] if spec.dataset == "iris"),
        "{effects:?}"
    );
    let key = "20261206-120000-iris-mlp-cpu";
    let mut meta = run_meta(key, "iris", RunStatus::Queued, 0.01, 20);
    meta.device_label = "queued for auto".into();
    meta.queue = Some(workbench::queue::QueueTable::new("auto".into(), Some(120), "the estimate".into(), 0));
    app.update(Event::Runs(vec![meta_event(meta)]));
    app.queued_run(key, "auto, GPU memory 120 MiB");
    let mut snapshot =
        workbench::queue::snapshot::QueueSnapshot { waiting: 1, cpu_slots: 1, ..Default::default() };
    let why = "waits for 6.0 GiB on a GPU: cuda:0 has 3.1 GiB free";
    snapshot.reasons.insert(key.into(), why.into());
    snapshot.positions.insert(key.into(), 1);
    snapshot.gpus.push(workbench::queue::snapshot::GpuRoomLine {
        index: 0,
        free_mb: 3174,
        total_mb: 24576,
        runs: 2,
    });
    app.update(Event::Queue(Box::new(snapshot)));
    let text = screen(&app, 160, 45);
    assert!(text.contains("1 going, queued 1"), "the title bar counts it:\n{text}");
    assert!(text.contains("queue: cuda:0 3.1 GiB free of 24.0 GiB, 2 runs"), "the devices pane:\n{text}");
    app.focus = Pane::Runs;
    let text = screen(&app, 160, 45);
    assert!(text.contains("Runs (1) queued 1"), "{text}");
    assert!(text.contains(&format!("queued (#1): {why}")), "{text}");
    assert!(text.contains("Run: iris / mlp, queued for auto"), "the progress title:\n{text}");
    assert!(text.contains("the queue starts it when a device can take it"), "the gauge:\n{text}");
}
