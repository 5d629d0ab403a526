//! Command runs in the TUI, from the follower's events: the runs pane shows the command, the tag
//! picker lists its series, `R` starts it again as a new run, `p` says a paused process keeps
//! its GPU memory, and the diff table compares command lines and params.
// Test code may unwrap and panic: a failure names its line (lints: Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use std::collections::BTreeMap;

use common::tui::*;
use common::*;
use crossterm::event::KeyCode;
use workbench::app::compare::diff_rows;
use workbench::app::{App, Effect, Event, Pane};
use workbench::command::{CommandInfo, RunKind};
use workbench::runs::events::ScalarPoint;
use workbench::runs::{RunEvent, RunStatus};

fn add_command_run(app: &mut App, key: &str, status: RunStatus, lr: &str) {
    let mut meta = run_meta(key, "", status, 0.01, 10);
    meta.kind = RunKind::Command;
    meta.model = "train.py".into();
    meta.command = Some(CommandInfo {
        argv: vec!["python3".into(), "train.py".into(), "--lr".into(), lr.into()],
        cwd: "/work".into(),
        stop_grace_s: 10.0,
        stdout_metrics: true,
        name: Some("mine".into()),
        git_commit: Some("0123456789abcdef0123456789abcdef01234567".into()),
        git_dirty: Some(false),
        exit_code: None,
        signal: None,
        elapsed_s: None,
        env: BTreeMap::new(),
        params: BTreeMap::from([("lr".to_string(), lr.to_string())]),
    });
    let points: Vec<ScalarPoint> = (1..=20)
        .map(|i| ScalarPoint { step: i, wall_time: 1.0e9 + i as f64, value: 1.0 / i as f64, epoch: None })
        .collect();
    app.update(Event::Runs(vec![
        meta_event(meta),
        RunEvent::Scalars { key: key.into(), tag: "loss".into(), points: points.clone() },
        RunEvent::Scalars { key: key.into(), tag: "val_acc".into(), points },
    ]));
}

#[test]
fn a_command_run_is_listed_with_its_command_and_its_series_are_tags() {
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    add_command_run(&mut app, "20261206-100000-mine-cpu", RunStatus::Running, "0.1");
    let run = app.runs.get("20261206-100000-mine-cpu").unwrap();
    assert!(run.is_command());
    let tags: Vec<String> = run.tag_list().into_iter().map(|(t, _)| t).collect();
    assert_eq!(tags, ["loss", "val_acc"], "its series, not a training run's own");
    assert_eq!(run.step_loss.len(), 20, "the loss tag is its curve");
    press(&mut app, &[key(KeyCode::Tab), key(KeyCode::Tab), key(KeyCode::Tab)]);
    assert_eq!(app.focus, Pane::Runs);
    let text = screen(&app, 160, 40);
    assert!(text.contains("$ python3 train.py --lr"), "the command in the runs pane:\n{text}");
    assert!(text.contains("Run: $ python3 train.py --lr 0.1 on CPU"), "the progress title:\n{text}");
    // Its printed accuracy takes the metric chart's place (it has no epoch rows of its own).
    app.focus = Pane::Charts;
    let text = screen(&app, 160, 40);
    assert!(text.contains("val_acc: 0.0500 (its own tag)"), "the metric chart draws its tag:\n{text}");
}

#[test]
fn r_starts_an_ended_command_again_and_p_warns_about_gpu_memory() {
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    add_command_run(&mut app, "20261206-100000-mine-cpu", RunStatus::Stopped, "0.1");
    add_command_run(&mut app, "20261206-110000-mine-cpu", RunStatus::Running, "0.2");
    press(&mut app, &[key(KeyCode::Tab), key(KeyCode::Tab), key(KeyCode::Tab)]);
    assert_eq!(app.focus, Pane::Runs);
    // The newest (running) first: `p` pauses it with the GPU-memory warning.
    assert_eq!(app.focused_run().unwrap().key, "20261206-110000-mine-cpu");
    let effects = press(&mut app, &[ch('p')]);
    assert_eq!(effects.len(), 1);
    let notice = app.notice.as_ref().unwrap().text.clone();
    assert!(notice.contains("keeps its GPU memory"), "{notice}");
    // `R` on the running one does nothing; on the stopped one it starts the command again.
    assert!(press(&mut app, &[ch('R')]).is_empty());
    let effects = press(&mut app, &[ch('j'), ch('R')]);
    assert!(
        matches!(&effects[..], [Effect::RerunCommand { key, .. }] if key == "20261206-100000-mine-cpu"),
        "{effects:?}"
    );
    let notice = app.notice.as_ref().unwrap().text.clone();
    assert!(notice.contains("same command again") && notice.contains("new run"), "{notice}");
}

#[test]
fn the_diff_table_compares_command_lines_and_params_not_training_defaults() {
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    add_command_run(&mut app, "20261206-100000-mine-cpu", RunStatus::Finished, "0.1");
    add_command_run(&mut app, "20261206-110000-mine-cpu", RunStatus::Finished, "0.2");
    let a = app.runs.get("20261206-100000-mine-cpu").unwrap();
    let b = app.runs.get("20261206-110000-mine-cpu").unwrap();
    let rows = diff_rows(&[a, b]);
    let names: Vec<&str> = rows.iter().filter(|r| !r.metric).map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["lr", "command"], "{rows:?}");
    let command = rows.iter().find(|r| r.name == "command").unwrap();
    assert_eq!(command.values, ["python3 train.py --lr 0.1", "python3 train.py --lr 0.2"]);
}

/// The shipped `[commands.iris-sgd]` in the model picker: its params become the form's fields,
/// typed as their defaults; `s` starts it on the runtime menu's device with the chosen dataset,
/// `Q` queues it; races refuse it with the reason.
#[test]
fn a_command_from_the_picker_becomes_the_form_and_s_or_q_start_it() {
    let runs = tempdir();
    let mut app = app(runs.path(), 1);
    assert!(
        app.form.commands.iter().any(|c| c.name == "iris-sgd" && c.entry.is_ok()),
        "shipped in config.toml"
    );
    press(&mut app, &[key(KeyCode::Tab), key(KeyCode::Enter)]);
    let downs: Vec<_> = (0..20).map(|_| key(KeyCode::Down)).collect();
    press(&mut app, &downs);
    press(&mut app, &[key(KeyCode::Enter)]);
    assert_eq!(app.form.command.as_ref().map(|c| c.name.as_str()), Some("iris-sgd"));
    let labels: Vec<String> = app.form.fields().iter().map(|f| app.form.label(*f)).collect();
    assert_eq!(labels, ["model", "epochs", "lr"]);
    let text = screen(&app, 120, 40);
    assert!(text.contains("model iris-sgd"), "the title bar names it:\n{text}");
    // epochs takes whole numbers only.
    press(
        &mut app,
        &[key(KeyCode::Down), key(KeyCode::Enter), key(KeyCode::Backspace), key(KeyCode::Backspace)],
    );
    press(&mut app, &[ch('2'), ch('.'), ch('5'), key(KeyCode::Enter)]);
    assert!(app.notice.as_ref().unwrap().text.contains("epochs \"2.5\" is not a whole number"));
    press(
        &mut app,
        &[key(KeyCode::Enter), key(KeyCode::Backspace), key(KeyCode::Backspace), key(KeyCode::Backspace)],
    );
    press(&mut app, &[ch('7'), key(KeyCode::Enter)]);
    // The runtime menu: the GPU.
    press(&mut app, &[ch('r')]);
    press(&mut app, &[key(KeyCode::Down), key(KeyCode::Down), key(KeyCode::Enter)]);
    let effects = press(&mut app, &[ch('s')]);
    let Some(Effect::StartCommand { name, params, dataset, device, queued }) = effects.first() else {
        panic!("no start: {effects:?} {:?}", app.notice)
    };
    assert_eq!(
        (name.as_str(), dataset.as_deref(), device.as_str(), *queued),
        ("iris-sgd", Some("iris"), "cuda:0", false)
    );
    assert_eq!(params.get("epochs").map(String::as_str), Some("7"));
    assert_eq!(params.get("lr").map(String::as_str), Some("0.1"));
    app.start_failed("test: not started");
    let effects = press(&mut app, &[ch('Q')]);
    assert!(matches!(effects.first(), Some(Effect::StartCommand { queued: true, .. })), "{effects:?}");
    assert!(press(&mut app, &[ch('c')]).is_empty());
    assert!(app.notice.as_ref().unwrap().text.contains("is a command: s starts it, Q queues it"));
}
