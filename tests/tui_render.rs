//! Render tests: the app drawn into ratatui's TestBackend, compared with reviewed snapshots
//! (tests/snapshots/). `cargo insta review` shows a changed screen side by side.
// Test and benchmark code may unwrap and panic: a failure names its line (lints: Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use common::tui::*;
use common::*;
use crossterm::event::KeyCode;
use workbench::app::{App, Event, Pane};
use workbench::runs::{LiveState, RunEvent, RunStatus};

const RUN: &str = "20261126-120000-iris-mlp-cpu";

/// A run of 20 epochs fed in as the follower reports a run folder, so the screen is the same on
/// every machine. It is the run this TUI started, so it has the focus.
fn finished_run(app: &mut App) {
    press(app, &[ch('s')]);
    app.started_run(RUN);
    let mut meta = run_meta(RUN, "iris", RunStatus::Running, 0.01, 20);
    app.update(Event::Runs(vec![meta_event(meta.clone())]));
    app.update(Event::Runs(curve_events(RUN, 20, 1.0)));
    meta.status = RunStatus::Finished;
    meta.epochs_completed = 20;
    app.update(Event::Runs(vec![meta_event(meta)]));
}

/// A runs folder with one run of each kind: finished, running, failed (with a long reason),
/// stopped, interrupted, queued, and a folder that can't be read.
fn many_runs(app: &mut App) {
    let add =
        |app: &mut App, key: &str, dataset: &str, status: RunStatus, lr: f64, epochs: u32, speed: f64| {
            let mut meta = run_meta(key, dataset, status, lr, 20);
            meta.epochs_completed = epochs;
            if status == RunStatus::Failed {
                meta.reason = Some(
                    "diverged: the training loss became NaN at step 41 (epoch 6); lower the learning rate \
                 (it is 0.5) or turn standardisation on, then start it again"
                        .into(),
                );
            }
            app.update(Event::Runs(vec![meta_event(meta)]));
            app.update(Event::Runs(curve_events(key, epochs, speed)));
        };
    add(app, "20261126-090000-iris-mlp-cpu", "iris", RunStatus::Finished, 0.01, 20, 1.0);
    add(app, "20261126-091500-iris-mlp-cpu", "iris", RunStatus::Finished, 0.1, 20, 2.0);
    add(app, "20261126-093000-iris-mlp-cpu", "iris", RunStatus::Failed, 0.5, 5, 0.5);
    add(app, "20261126-100000-iris-binary-mlp-cpu", "iris-binary", RunStatus::Stopped, 0.01, 7, 1.0);
    add(app, "20261126-103000-iris-mlp-cpu", "iris", RunStatus::Interrupted, 0.01, 12, 0.8);
    app.update(Event::Runs(vec![RunEvent::Problem {
        key: "20261126-104500-half-written".into(),
        dir: std::path::PathBuf::from("runs/20261126-104500-half-written"),
        problem: "run.toml: missing field `status` (made by another version of workbench?)".into(),
    }]));
    add(app, "20261126-110000-iris-mlp-cpu", "iris", RunStatus::Running, 0.03, 9, 1.5);
    add(app, "20261126-113000-shapes-mlp-cpu", "shapes", RunStatus::Queued, 0.01, 0, 1.0);
}

fn select(app: &mut App, keys: &[&str]) {
    for k in keys {
        app.runs.toggle_selected(k);
    }
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
    assert!(text.contains("Tab / Shift-Tab"), "{text}");
    insta::assert_snapshot!(text);
    // Longer than 24 rows: j scrolls down to the last keys, and the title says what is left.
    assert!(text.contains("more below"), "{text}");
    for _ in 0..40 {
        press(&mut app, &[ch('j')]);
    }
    let text = screen(&app, 80, 24);
    assert!(
        text.contains("Ctrl-C") && text.contains("closes this help") && text.contains("more above"),
        "{text}"
    );
    // A tall terminal shows every key at once.
    let text = screen(&app, 120, 50);
    assert!(
        text.contains("Tab / Shift-Tab") && text.contains("Ctrl-C") && !text.contains("j/k scroll"),
        "{text}"
    );
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
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    finished_run(&mut app);
    app.update(Event::Runs(vec![meta_event(run_meta(RUN, "iris", RunStatus::Running, 0.01, 20))]));
    app.focus = Pane::Charts;
    let loading = |phase: &str, done, total, ms| {
        Event::Runs(vec![RunEvent::Live {
            key: RUN.into(),
            live: LiveState {
                phase: phase.into(),
                done,
                total,
                epoch: 0,
                step: 0,
                updated_unix_ms: ms,
                pid: 1,
                host: "h".into(),
                samples_per_s: None,
                eta_s: None,
            },
        }])
    };
    app.update(loading("reading", 4 << 20, 16 << 20, 1_000));
    let shown = screen(&app, 100, 30);
    assert!(shown.contains("staging: reading 4.0 MiB/16.0 MiB (25%)"), "{shown}");
    app.update(loading("decoding", 1_200, 60_000, 2_000));
    let shown = screen(&app, 100, 30);
    assert!(shown.contains("staging: decoding 1,200/60,000 images (2%)"), "{shown}");
    assert!(shown.contains("loading data"), "the header says what the run is doing: {shown}");
}

/// A new TUI over a runs folder that holds three finished runs of two days: the first screen
/// counts them in the title bar with the key that opens them, `o` opens the runs pane, and the
/// list tells the two days apart.
#[test]
fn the_first_screen_counts_the_runs_and_o_opens_them() {
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    for key in
        ["20261125-090000-iris-mlp-cpu", "20261126-090000-iris-mlp-cpu", "20261126-100000-iris-mlp-cpu"]
    {
        let mut meta = run_meta(key, "iris", RunStatus::Finished, 0.01, 20);
        meta.epochs_completed = 20;
        app.update(Event::Runs(vec![meta_event(meta)]));
        app.update(Event::Runs(curve_events(key, 20, 1.0)));
    }
    let text = screen(&app, 80, 24);
    let title = text.lines().next().unwrap();
    assert!(title.contains("| 3 runs (o)"), "{text}");
    insta::assert_snapshot!(text);

    press(&mut app, &[ch('o')]);
    assert_eq!(app.focus, Pane::Runs);
    // The run column needs the width: at 80 columns the list leaves it out.
    let text = screen(&app, 120, 40);
    assert!(
        text.contains("11-25 09:00:00 iris-mlp-cpu") && text.contains("11-26 09:00:00 iris-mlp-cpu"),
        "{text}"
    );

    // A run going shows beside the count.
    let mut meta = run_meta("20261126-110000-iris-mlp-cpu", "iris", RunStatus::Running, 0.01, 20);
    meta.epochs_completed = 3;
    app.update(Event::Runs(vec![meta_event(meta)]));
    app.focus = Pane::Datasets;
    let title = screen(&app, 80, 24).lines().next().unwrap().to_string();
    assert!(title.contains("4 runs, 1 going (o)"), "{title}");
}

#[test]
fn the_runs_pane_120x40() {
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    many_runs(&mut app);
    app.focus = Pane::Runs;
    press(&mut app, &[ch('j'), ch('j')]);
    press(&mut app, &[ch(' ')]);
    let text = screen(&app, 120, 40);
    for want in
        ["failed: diverged", "interrupted", "problem", "queued", "run.toml: missing field", "1 selected"]
    {
        assert!(text.contains(want), "{want}:\n{text}");
    }
    assert!(text.find("11:30:00 shapes").unwrap() < text.find("09:00:00 iris").unwrap(), "newest first");
    insta::assert_snapshot!(text);
}

#[test]
fn the_runs_pane_80x24_with_a_failed_run_focused() {
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    many_runs(&mut app);
    app.focus = Pane::Runs;
    app.runs.focused = Some("20261126-093000-iris-mlp-cpu".into());
    let text = screen(&app, 80, 24);
    // The reason wraps in the run's panel, or ends with where to read it whole.
    assert!(text.contains("then start it again") || text.contains("Enter: the whole text"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn the_runs_filter_while_typing() {
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    many_runs(&mut app);
    press(&mut app, &[ch('/'), ch('f'), ch('a'), ch('i')]);
    let text = screen(&app, 80, 24);
    assert!(text.contains("/fai") && text.contains("failed: diverged"), "{text}");
    assert!(!text.contains("finished"), "{text}");
}

#[test]
fn the_overlay_with_its_legend_120x40() {
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    many_runs(&mut app);
    select(
        &mut app,
        &["20261126-090000-iris-mlp-cpu", "20261126-091500-iris-mlp-cpu", "20261126-110000-iris-mlp-cpu"],
    );
    app.runs.focused = Some("20261126-110000-iris-mlp-cpu".into());
    app.focus = Pane::Charts;
    let text = screen(&app, 120, 40);
    // Three Iris runs that differ only in their learning rate are named by it, not by their ids.
    for name in ["lr=0.01", "lr=0.1", "lr=0.03"] {
        assert!(text.contains(&format!("\u{25a0} {name}")), "the legend names {name}:\n{text}");
    }
    assert!(text.contains("Loss: 3 runs"), "{text}");
    insta::assert_snapshot!(text);
}

/// A stopped run's axis ends at the epochs it did, not at the 20 it planned, so its curve fills the
/// chart; a running one keeps room for the epochs still to come.
#[test]
fn a_stopped_run_spans_the_epochs_it_did() {
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    many_runs(&mut app);
    app.focus = Pane::Charts;
    let stopped = "20261126-100000-iris-binary-mlp-cpu";
    app.runs.focused = Some(stopped.into());
    select(&mut app, &[stopped]);
    let text = screen(&app, 120, 40);
    assert!(text.contains("7 ep│") && !text.contains("20 ep│"), "the x axis ends at epoch 7:\n{text}");
    app.runs.toggle_selected(stopped);
    let running = "20261126-110000-iris-mlp-cpu";
    app.runs.focused = Some(running.into());
    select(&mut app, &[running]);
    let text = screen(&app, 120, 40);
    assert!(text.contains("20 ep│"), "a running run keeps its planned 20 epochs on the axis:\n{text}");
}

#[test]
fn the_overlay_80x24_smooth_log_against_steps() {
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    many_runs(&mut app);
    select(&mut app, &["20261126-090000-iris-mlp-cpu", "20261126-091500-iris-mlp-cpu"]);
    app.focus = Pane::Charts;
    press(&mut app, &[ch('m'), ch('l'), ch('a')]);
    let text = screen(&app, 80, 24);
    assert!(text.contains("log y, smooth"), "{text}");
    assert!(text.contains("160 steps"), "the x axis counts steps: {text}");
    press(&mut app, &[ch('a'), ch('w')]);
    let text = screen(&app, 80, 24);
    assert!(text.contains("recent, log y, smooth") && text.contains(" s│"), "seconds: {text}");
    insta::assert_snapshot!(screen(&app, 80, 24));
}

#[test]
fn each_run_keeps_its_colour_in_the_legend_the_list_and_the_diff_table() {
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    many_runs(&mut app);
    let names = ["090000-iris-mlp-cpu", "110000-iris-mlp-cpu"];
    select(&mut app, &["20261126-090000-iris-mlp-cpu", "20261126-110000-iris-mlp-cpu"]);
    app.focus = Pane::Charts;
    // The legend names the runs by what differs between them: their learning rates.
    let legend: Vec<_> =
        ["lr=0.01", "lr=0.03"].iter().map(|n| swatch_color(&buffer(&app, 120, 40), n)).collect();
    app.focus = Pane::Runs;
    // The list comes first on the screen; the diff table's header holds the names again below.
    let list: Vec<_> = names.iter().map(|n| swatch_color(&buffer(&app, 120, 40), n)).collect();
    assert_eq!(legend, list, "one colour per run");
    assert_ne!(legend[0], legend[1]);
    let text = screen(&app, 120, 40);
    assert!(text.contains("Compare"), "{text}");
}

#[test]
fn the_diff_table_120x40() {
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    many_runs(&mut app);
    select(
        &mut app,
        &["20261126-090000-iris-mlp-cpu", "20261126-091500-iris-mlp-cpu", "20261126-110000-iris-mlp-cpu"],
    );
    app.focus = Pane::Runs;
    let text = screen(&app, 120, 40);
    assert!(text.contains("Compare: 1 hyperparameter(s) differ"), "the learning rate: {text}");
    assert!(text.contains("running"), "the status row: {text}");
    assert!(text.contains("best val_acc"), "{text}");
    assert!(!text.contains("optimizer"), "identical values are left out: {text}");
    insta::assert_snapshot!(text);
}

#[test]
fn the_diff_table_80x24() {
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    many_runs(&mut app);
    select(&mut app, &["20261126-090000-iris-mlp-cpu", "20261126-091500-iris-mlp-cpu"]);
    app.focus = Pane::Runs;
    let text = screen(&app, 80, 24);
    assert!(text.contains("lr") && text.contains("0.01") && text.contains("0.1"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn the_quit_popup_120x40_and_80x24() {
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    many_runs(&mut app);
    press(&mut app, &[ch('q')]);
    let wide = screen(&app, 120, 40);
    assert!(wide.contains("2 runs are going") && wide.contains("leave them running"), "{wide}");
    insta::assert_snapshot!("the_quit_popup_120x40", wide);
    insta::assert_snapshot!("the_quit_popup_80x24", screen(&app, 80, 24));
}

/// Issue 11: the reason CUDA is unusable is never cut off unseen: it wraps in the devices pane,
/// or its last line there says Enter shows it whole, and Enter does.
#[test]
fn a_long_cuda_reason_is_never_cut_unseen() {
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    let reason =
        "the libtorch in use (/home/someone/.cache/workbench/libtorch-2.11.0-cpu/lib/libtorch_cpu.so) \
                  is CPU-only: it has no libtorch_cuda.so; run ./dev setup --cuda to fetch a CUDA build, \
                  then start workbench again";
    let mut report = devices(0);
    report.cuda_unavailable = Some(reason.into());
    app.update(Event::Devices(report));
    for (w, h) in [(80, 24), (120, 40)] {
        let text = screen(&app, w, h);
        let whole = text.contains("workbench again");
        assert!(whole || text.contains("Enter: the whole text"), "{w}x{h}:\n{text}");
        app.focus = Pane::Devices;
        press(&mut app, &[key(KeyCode::Enter)]);
        let popup = screen(&app, w, h);
        assert!(popup.contains("workbench again"), "{w}x{h}:\n{popup}");
        assert!(popup.contains("./dev setup --cuda"), "{w}x{h}:\n{popup}");
        press(&mut app, &[key(KeyCode::Esc)]);
        app.focus = Pane::Datasets;
    }
    insta::assert_snapshot!("a_long_cuda_reason_80x24", screen(&app, 80, 24));
    app.focus = Pane::Devices;
    press(&mut app, &[key(KeyCode::Enter)]);
    insta::assert_snapshot!("a_long_cuda_reason_popup_120x40", screen(&app, 120, 40));
}

#[test]
fn a_long_list_scrolls_to_the_focused_run() {
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    for i in 0..1000 {
        let key = format!("20261126-{:06}-iris-mlp-cpu", i);
        app.update(Event::Runs(vec![meta_event(run_meta(&key, "iris", RunStatus::Finished, 0.01, 20))]));
    }
    app.focus = Pane::Runs;
    press(&mut app, &[ch('j')]);
    assert!(screen(&app, 120, 40).contains("000999-iris-mlp-cpu"), "the newest is on top");
    app.runs.focused = Some("20261126-000000-iris-mlp-cpu".into());
    let text = screen(&app, 120, 40);
    assert!(text.contains("000000-iris-mlp-cpu") && !text.contains("000999-iris"), "{text}");
    press(&mut app, &[ch('k')]);
    assert_eq!(app.focused_run().unwrap().key, "20261126-000001-iris-mlp-cpu");
}

/// A run moved to another device shows where: a line across the loss chart, labelled in its title.
#[test]
fn a_device_switch_is_marked_on_the_loss_chart() {
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    finished_run(&mut app);
    let plain = screen(&app, 120, 40);
    let mut meta = run_meta(RUN, "iris", RunStatus::Finished, 0.01, 20);
    meta.epochs_completed = 20;
    meta.device_switches.push(workbench::runs::DeviceSwitch {
        epoch: 11,
        step: 80,
        wall_s: 1.0,
        from: "cpu threads=1".into(),
        to: "cpu threads=2".into(),
        at: "2026-11-26T12:00:01Z".into(),
    });
    app.update(Event::Runs(vec![meta_event(meta)]));
    let marked = screen(&app, 120, 40);
    assert!(!plain.contains("\u{2192}cpu threads=2"));
    assert!(marked.contains("\u{2192}cpu threads=2"), "{marked}");
    assert_ne!(plain.replace(' ', "").len(), 0);
    let differing = plain.lines().zip(marked.lines()).filter(|(a, b)| a != b).count();
    assert!(differing > 5, "a vertical line changes many rows of the chart: {differing}");
}

/// Two runs of one race, both selected: the overlay's title shows each side's samples/s and the
/// speed-up.
#[test]
fn a_race_shows_its_speed_up_over_the_overlay() {
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    let keys = ["20261126-120000-iris-mlp-cpu", "20261126-120000-iris-mlp-cpu-2"];
    for (key, side) in keys.iter().zip(["cpu", "challenger"]) {
        let mut meta = run_meta(key, "iris", RunStatus::Finished, 0.01, 5);
        meta.race = Some(workbench::runs::RaceMark { id: keys[0].into(), side: side.into() });
        app.update(Event::Runs(vec![meta_event(meta)]));
        app.update(Event::Runs(curve_events(key, 5, 1.0)));
    }
    app.started_race(&[keys[0].to_string(), keys[1].to_string()]);
    app.focus = Pane::Charts;
    let text = screen(&app, 140, 40);
    assert!(text.contains("race: cpu") && text.contains("speed-up 1.00"), "{text}");
}

/// Another tool's log has no planned epochs: the run pane says what has come (tags, points, the
/// last step), not "epoch 0 of 0".
#[test]
fn an_external_runs_progress_names_its_tags_and_last_step() {
    use workbench::runs::events::{ExternalKind, ScalarPoint};
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    let mut events = vec![RunEvent::External {
        key: "spiral-sgd".into(),
        dir: std::path::PathBuf::from("/logs/spiral-sgd"),
        kind: ExternalKind::TensorBoard,
        hparams: Vec::new(),
        problem: None,
    }];
    for tag in ["loss/train", "accuracy/val"] {
        let points = (1..=5)
            .map(|i| ScalarPoint {
                step: i * 10,
                wall_time: 1.7e9 + i as f64,
                value: 1.0 / i as f64,
                epoch: None,
            })
            .collect();
        events.push(RunEvent::Scalars { key: "spiral-sgd".into(), tag: tag.into(), points });
    }
    app.update(Event::Runs(events));
    app.runs.focused = Some("spiral-sgd".into());
    app.focus = Pane::Charts;
    let text = screen(&app, 120, 40);
    assert!(text.contains("2 tags, 10 points, last step 50"), "{text}");
    assert!(!text.contains("epoch 0 of 0"), "{text}");
    // Its scalars carry steps, not epochs: the default epoch axis draws them against their steps.
    assert!(text.contains("50 steps") && !text.contains(" ep│"), "{text}");
}

/// A telemetry event as the follower sends it on its first poll of `telemetry.csv`.
fn telemetry_event(csv: &str) -> RunEvent {
    let telemetry = workbench::telemetry::parse_telemetry(csv);
    RunEvent::Telemetry {
        key: RUN.into(),
        update: workbench::telemetry::TelemetryUpdate { telemetry, restarted: false },
    }
}

#[test]
fn the_focused_run_shows_its_telemetry_under_the_loss_chart() {
    let runs = tempdir();
    let mut app = app(runs.path(), 1);
    finished_run(&mut app);
    let mut csv = String::from(
        "time_s,cpu_percent,rss_mb,gpu0_mem_used_mb,gpu0_mem_total_mb,gpu0_util_percent,gpu0_temp_c,\
         gpu0_power_w,gpu0_power_limit_w\n",
    );
    for t in 0..20 {
        csv.push_str(&format!("{t}.0,{}.0,300.0,2048.0,143771.0,{},45,310.5,700.0\n", 90 + t % 5, 80 + t));
    }
    app.update(Event::Runs(vec![telemetry_event(&csv)]));
    let text = screen(&app, 120, 40);
    for label in ["CPU % 94.0", "RSS MB 300", "GPU0 mem MB 2048", "GPU0 util % 99.0", "GPU0 temp °C 45.0"] {
        assert!(text.contains(label), "{label} missing:\n{text}");
    }
    assert!(text.contains("GPU0 power W 310"), "{text}");
    assert!(!text.contains("no GPU figures"), "{text}");
    // The 80×24 screen keeps its charts as they were: no room for the sparklines.
    assert!(!screen(&app, 80, 24).contains("CPU %"));
}

#[test]
fn without_gpu_figures_one_dim_line_says_why() {
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    finished_run(&mut app);
    app.update(Event::GpuTelemetry(workbench::telemetry::TelemetryStatus {
        available: false,
        gpus: 0,
        reason: Some("NVML not found (libnvidia-ml.so.1): no NVIDIA driver".into()),
    }));
    app.update(Event::Runs(vec![telemetry_event(
        "time_s,cpu_percent,rss_mb\n1.0,97.5,250.0\n2.0,98.0,251.0\n",
    )]));
    let text = screen(&app, 120, 40);
    assert!(text.contains("CPU % 98.0") && text.contains("RSS MB 251"), "{text}");
    assert!(text.contains("no GPU figures: NVML not found"), "{text}");
    assert!(text.contains("Loss") && text.contains("Validation accuracy"), "both charts stay: {text}");
}
