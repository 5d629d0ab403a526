//! Render tests: the app drawn into ratatui's TestBackend, compared with reviewed snapshots
//! (tests/snapshots/). `cargo insta review` shows a changed screen side by side.
// Test and benchmark code may unwrap and panic: a failure names its line (lints: Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use std::path::PathBuf;

use common::tui::*;
use common::*;
use crossterm::event::KeyCode;
use workbench::app::{App, Event, Pane};
use workbench::train::{EpochMetrics, MetricKind, RunId, TrainMsg};

/// A run of 20 epochs fed in as messages, so the screen is the same on every machine.
fn finished_run(app: &mut App) {
    press(app, &[ch('s')]);
    app.attach_run(RunId(1));
    let run = RunId(1);
    app.update(Event::Train(TrainMsg::Started {
        run,
        run_dir: PathBuf::from("runs/20261126-120000-iris-mlp-cpu"),
        device_label: "CPU".into(),
        epochs: 20,
        steps_per_epoch: 8,
        train_samples: 120,
        val_samples: 30,
        placement: "all data in memory".into(),
    }));
    for epoch in 1..=20u32 {
        let base = 1.1 * (-(epoch as f32) / 6.0).exp();
        let losses: Vec<f32> =
            (0..8).map(|i| base * (1.0 + 0.2 * ((i * 7 % 5) as f32 - 2.0) / 2.0)).collect();
        app.update(Event::Train(TrainMsg::Steps { run, epoch, first_step: (epoch as u64 - 1) * 8, losses }));
        let metrics = EpochMetrics {
            epoch,
            epochs: 20,
            global_step: epoch as u64 * 8,
            train_loss: base as f64,
            val_loss: Some(base as f64 * 1.1),
            val_metric: Some((0.5 + epoch as f64 * 0.025).min(0.9667)),
            metric: MetricKind::Accuracy,
            samples_per_s: 50_000.0,
            elapsed_s: epoch as f64 * 0.01,
        };
        app.update(Event::Train(TrainMsg::Epoch { run, metrics }));
    }
    let last = app.run.as_ref().unwrap().last.clone();
    app.update(Event::Train(TrainMsg::Finished {
        run,
        run_dir: PathBuf::from("runs/20261126-120000-iris-mlp-cpu"),
        last,
    }));
}

#[test]
fn main_screen_80x24() {
    let runs = tempdir();
    let app = app(runs.path(), 0);
    insta::assert_snapshot!(screen(&app, 80, 24));
}

#[test]
fn main_screen_120x40() {
    let runs = tempdir();
    let app = app(runs.path(), 1);
    insta::assert_snapshot!(screen(&app, 120, 40));
}

#[test]
fn runtime_popup_without_a_gpu() {
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    press(&mut app, &[ch('r')]);
    insta::assert_snapshot!(screen(&app, 80, 24));
}

#[test]
fn runtime_popup_with_a_gpu() {
    let runs = tempdir();
    let mut app = app(runs.path(), 1);
    press(&mut app, &[ch('r')]);
    insta::assert_snapshot!(screen(&app, 100, 30));
}

#[test]
fn help_overlay() {
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    press(&mut app, &[ch('?')]);
    let text = screen(&app, 80, 24);
    for (key, _) in [("Tab / Shift-Tab", ""), ("Ctrl-C", "")] {
        assert!(text.contains(key));
    }
    insta::assert_snapshot!(text);
}

#[test]
fn a_dataset_with_an_error() {
    let dir = tempdir();
    write(dir.path(), "broken.csv", "a,b,label\n1,2,x\n3,oops,y\n");
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    app.update(Event::Catalog(scan(dir.path())));
    let text = screen(&app, 100, 30);
    assert!(text.contains("problem"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn a_finished_run() {
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    finished_run(&mut app);
    let text = screen(&app, 100, 30);
    assert!(text.contains("final: train_loss"), "{text}");
    assert!(text.contains("epoch 20 of 20"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn a_finished_run_at_80x24_with_log_scale() {
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    finished_run(&mut app);
    press(&mut app, &[ch('l')]);
    insta::assert_snapshot!(screen(&app, 80, 24));
}

#[test]
fn tiny_terminals_never_panic() {
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    finished_run(&mut app);
    for (w, h) in [(0, 0), (1, 1), (10, 5), (79, 23), (80, 23), (200, 3)] {
        let text = screen(&app, w, h);
        if w >= 40 && h >= 2 {
            assert!(text.contains("needs at least 80x24"), "{w}x{h}: {text}");
        }
    }
    for popup in ['?', 'r'] {
        press(&mut app, &[ch(popup)]);
        screen(&app, 80, 24);
        screen(&app, 10, 5);
        press(&mut app, &[key(KeyCode::Esc)]);
    }
}

#[test]
fn ascii_mode_draws_only_ascii() {
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    app.ascii = true;
    finished_run(&mut app);
    let text = screen(&app, 100, 30);
    assert!(text.is_ascii(), "{text}");
    assert!(text.contains("+-") && text.contains("final: train_loss"), "{text}");
    app.focus = Pane::Datasets;
    assert!(screen(&app, 100, 30).is_ascii());
}

#[test]
fn an_image_dataset_preview_in_ascii() {
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    app.ascii = true;
    let shapes = app
        .catalog
        .as_ref()
        .unwrap()
        .entries
        .iter()
        .position(|e| e.name == "shapes")
        .expect("shipped shapes");
    app.selected_dataset = shapes;
    let text = screen(&app, 100, 30);
    assert!(text.contains("circle") && text.contains("28x28 pixels, 1 channel"), "{text}");
    assert!(text.contains("%%%"), "the images are drawn:\n{text}");
    insta::assert_snapshot!(text);
}

/// Staging shows which phase it is in: the bytes of the source read (the copy from a slow
/// drive), then the images decoded, each with its own count and unit.
#[test]
fn staging_progress_names_its_phase_and_unit() {
    use workbench::data::StagePhase;
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    press(&mut app, &[ch('s')]);
    app.attach_run(RunId(1));
    let loading = |phase, done, total| Event::Train(TrainMsg::Loading { run: RunId(1), phase, done, total });
    app.update(loading(StagePhase::Reading, 4 << 20, 16 << 20));
    let shown = screen(&app, 100, 30);
    assert!(shown.contains("staging: reading 4.0 MiB/16.0 MiB (25%)"), "{shown}");
    app.update(loading(StagePhase::Decoding, 1_200, 60_000));
    let shown = screen(&app, 100, 30);
    assert!(shown.contains("staging: decoding 1,200/60,000 images (2%)"), "{shown}");
    assert!(shown.contains("loading data"), "the header says what the run is doing: {shown}");
}
