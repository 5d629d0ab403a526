//! Sweeps in the TUI: a list typed into a form field makes `s` ask to queue a sweep; the board
//! (`b`) shows the seed-grouped table, a group's band chart and the value chart, live from the
//! runs followed; `g` folds a sweep in the runs pane. Render snapshots at 80×24 and 120×40.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use common::tui::{app, ch, curve_events, key, meta_event, press, run_meta, screen};
use crossterm::event::KeyCode;
use workbench::app::board::BoardView;
use workbench::app::{App, Effect, Event, Popup};
use workbench::runs::{RunEvent, RunStatus};

/// Type `text` into the form's field labelled `label` (Tab to the model pane first).
fn type_into(app: &mut App, label: &str, text: &str) {
    app.focus = workbench::app::Pane::Model;
    let at = app.form.fields().iter().position(|f| app.form.label(*f) == label).expect("no such field");
    app.form.selected = at;
    press(app, &[key(KeyCode::Enter)]);
    let old = app.form.editing.clone().unwrap_or_default();
    for _ in 0..old.chars().count() {
        press(app, &[key(KeyCode::Backspace)]);
    }
    for c in text.chars() {
        press(app, &[ch(c)]);
    }
    press(app, &[key(KeyCode::Enter)]);
}

#[test]
fn a_list_in_a_field_makes_s_ask_to_queue_a_sweep() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = app(dir.path(), 0);
    type_into(&mut app, "learning rate", "0.1, 0.03, 0.01");
    assert_eq!(app.form.error, None);
    assert_eq!(app.form.values.lr, 0.1, "the field's value is the list's first");
    type_into(&mut app, "seed", "1,2,3");
    let effects = press(&mut app, &[ch('s')]);
    assert!(effects.is_empty(), "nothing is queued before Enter: {effects:?}");
    let notice = app.notice.as_ref().unwrap().text.clone();
    assert_eq!(notice, "sweep of 9 runs: lr × seed; Enter to queue, Esc to go back");
    let Some(Popup::ConfirmSweep(ask)) = &app.popup else { panic!("no confirmation: {:?}", app.popup) };
    assert_eq!(ask.cells, 9);
    assert_eq!(ask.preview[0], "lr=0.1 seed=1");
    let shown = screen(&app, 80, 24);
    assert!(shown.contains("Queue a sweep?") && shown.contains("lr=0.03 seed=1"), "{shown}");

    // Esc goes back; Q asks the same.
    press(&mut app, &[key(KeyCode::Esc)]);
    assert_eq!(app.popup, None);
    press(&mut app, &[ch('Q')]);
    let effects = press(&mut app, &[key(KeyCode::Enter)]);
    let [Effect::QueueSweep { asked, entry: None }] = effects.as_slice() else { panic!("{effects:?}") };
    assert_eq!(asked.grid.size(), 9);
    assert_eq!(asked.fixed.get("dataset").map(String::as_str), Some("iris"));
    assert_eq!(asked.fixed.get("epochs").map(String::as_str), Some("100"), "every form value is fixed");
    assert_eq!(asked.fixed.get("device").map(String::as_str), Some("auto"), "the runtime menu's device");
    assert!(
        asked.command_line(None).starts_with("workbench sweep --lr '0.1, 0.03, 0.01' --seed 1,2,3"),
        "{}",
        asked.command_line(None)
    );

    // One value again: s starts a single run.
    type_into(&mut app, "learning rate", "0.05");
    type_into(&mut app, "seed", "7");
    assert!(app.form.sweep.is_empty());
    let effects = press(&mut app, &[ch('s')]);
    assert!(matches!(effects.as_slice(), [Effect::StartRun { .. }]), "{effects:?}");
}

#[test]
fn a_list_in_a_commands_param_queues_a_sweep_of_the_entry() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = app(dir.path(), 0);
    app.form.pick(workbench::app::form::Pick::Command("iris-sgd".into())).unwrap();
    type_into(&mut app, "lr", "0.3, 0.1");
    assert_eq!(app.form.error, None);
    type_into(&mut app, "epochs", "2.5, 3");
    assert!(
        app.form.error.as_ref().unwrap().contains("epochs \"2.5\" is not a whole number"),
        "{:?}",
        app.form.error
    );
    let shown = screen(&app, 120, 40);
    assert!(shown.contains("lr            0.3, 0.1") || shown.contains("0.3, 0.1"), "{shown}");
    press(&mut app, &[ch('r'), key(KeyCode::Down), key(KeyCode::Enter)]); // the runtime: CPU
    press(&mut app, &[ch('s')]);
    assert_eq!(app.notice.as_ref().unwrap().text, "sweep of 2 runs: lr; Enter to queue, Esc to go back");
    let effects = press(&mut app, &[key(KeyCode::Enter)]);
    let [Effect::QueueSweep { asked, entry: Some(entry) }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(entry, "iris-sgd");
    assert_eq!(asked.fixed.get("dataset").map(String::as_str), Some("iris"), "{{dataset}} is the chosen one");
    assert_eq!(asked.fixed.get("epochs").map(String::as_str), Some("60"));
    assert_eq!(asked.fixed.get("device").map(String::as_str), Some("cpu"));
    assert_eq!(
        asked.command_line(Some(entry)),
        "workbench sweep iris-sgd --param 'lr=0.3, 0.1' --param dataset=iris --device cpu --param epochs=60"
    );
}

#[test]
fn bad_lists_are_refused_in_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = app(dir.path(), 0);
    type_into(&mut app, "learning rate", "0.1, -3");
    let error = app.form.error.clone().unwrap();
    assert!(error.contains("learning rate -3 is not valid"), "{error}");
    assert_eq!(app.form.values.lr, 0.01, "the old value stays");
    type_into(&mut app, "learning rate", "0.1,,0.2");
    assert!(app.form.error.as_ref().unwrap().contains("an empty value"), "{:?}", app.form.error);
    type_into(&mut app, "batch size", "16, 16");
    assert!(app.form.error.as_ref().unwrap().contains("listed twice"), "{:?}", app.form.error);
    type_into(&mut app, "epochs", "1:3000:step:1");
    type_into(&mut app, "seed", "1:3:step:1");
    assert!(app.form.sweep.contains_key("epochs"));
    press(&mut app, &[ch('s')]);
    let notice = app.notice.clone().unwrap();
    assert!(notice.is_error && notice.text.contains("9000 runs is more than 1000"), "{notice:?}");
    assert_eq!(app.popup, None);
}

/// Nine finished runs of sweep `s1`: lr × seed, with best accuracies the test knows.
fn sweep_app(dir: &std::path::Path) -> (App, Vec<(String, String, f64)>) {
    sweep_app_of(dir, [("0.1", 1.6), ("0.03", 1.0), ("0.01", 0.5)])
}

/// Sweep `s1` of these learning rates (each with its curve's speed) × seeds 1, 2, 3.
fn sweep_app_of(dir: &std::path::Path, lrs: [(&str, f64); 3]) -> (App, Vec<(String, String, f64)>) {
    let mut app = app(dir, 0);
    let mut cells = Vec::new();
    let mut n = 0;
    for (lr, speed) in lrs {
        for seed in ["1", "2", "3"] {
            n += 1;
            let key = format!("20261206-1000{n:02}-iris-mlp-cpu");
            let mut meta = run_meta(&key, "iris", RunStatus::Finished, lr.parse().unwrap(), 12);
            meta.sweep = Some("s1".into());
            meta.sweep_cell =
                [("lr".to_string(), lr.to_string()), ("seed".to_string(), seed.to_string())].into();
            let speed = speed * (1.0 + 0.05 * seed.parse::<f64>().unwrap());
            app.update(Event::Runs(vec![meta_event(meta)]));
            let events = curve_events(&key, 12, speed);
            let best = events
                .iter()
                .filter_map(|e| match e {
                    RunEvent::Epochs { rows, .. } => rows[0].val_metric,
                    _ => None,
                })
                .fold(f64::MIN, f64::max);
            app.update(Event::Runs(events));
            cells.push((lr.to_string(), seed.to_string(), best));
        }
    }
    (app, cells)
}

#[test]
fn the_board_groups_the_seeds_with_their_spread() {
    let dir = tempfile::tempdir().unwrap();
    let (mut app, cells) = sweep_app(dir.path());
    app.runs.focused = app.runs.order.first().cloned();
    press(&mut app, &[ch('b')]);
    let Some(Popup::Board(board)) = &app.popup else { panic!("no board: {:?}", app.popup) };
    let table = board.table(&app.runs);
    assert_eq!(table.names, ["lr"]);
    assert_eq!(table.rows.len(), 3);
    // The mean and sample std recomputed here from the curves' best epochs.
    for row in &table.rows {
        let lr = &row.group.values["lr"];
        let xs: Vec<f64> = cells.iter().filter(|c| &c.0 == lr).map(|c| c.2).collect();
        let mean = xs.iter().sum::<f64>() / 3.0;
        let std = (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 2.0).sqrt();
        assert!((row.group.mean.unwrap() - mean).abs() < 1e-12, "{lr}");
        assert!((row.group.std.unwrap() - std).abs() < 1e-12, "{lr}");
        assert_eq!(row.group.n, 3);
        assert_eq!(row.state, "finished");
    }
    assert_eq!(table.rows[0].group.values["lr"], "0.1", "the fastest learner wins");
    let shown = screen(&app, 120, 40);
    assert!(shown.contains("Sweep s1 · val_accuracy (higher is better) · finished 9"), "{shown}");
    assert!(shown.contains("best lr=0.1 0.9667 ± 0.0000 (n=3"), "{shown}");

    // o sorts by lr (ascending: 0.01 first); / filters.
    press(&mut app, &[ch('o')]);
    let Some(Popup::Board(board)) = &app.popup else { panic!() };
    assert_eq!(board.table(&app.runs).rows[0].group.values["lr"], "0.01");
    press(&mut app, &[ch('/'), ch('0'), ch('.'), ch('0'), ch('3'), key(KeyCode::Enter)]);
    let Some(Popup::Board(board)) = &app.popup else { panic!() };
    let table = board.table(&app.runs);
    assert_eq!(table.rows.len(), 1);
    assert_eq!(table.rows[0].group.values["lr"], "0.03");

    // Enter: the band chart of the selected group; Esc back; v: the value chart.
    press(&mut app, &[key(KeyCode::Enter)]);
    let Some(Popup::Board(board)) = &app.popup else { panic!() };
    assert_eq!(board.view, BoardView::Band);
    let shown = screen(&app, 120, 40);
    assert!(shown.contains("lr=0.03: val_accuracy over 3 seed(s), mean line, min to max shaded"), "{shown}");
    press(&mut app, &[key(KeyCode::Esc), ch('v')]);
    let Some(Popup::Board(board)) = &app.popup else { panic!() };
    assert_eq!(board.view, BoardView::Values);
    let shown = screen(&app, 120, 40);
    assert!(
        shown.contains("best val_accuracy against lr: one dot per run"),
        "0.01 to 0.1 spans 10×, no log x: {shown}"
    );
}

#[test]
fn the_value_chart_has_a_log_x_axis_when_the_values_span_a_hundredfold() {
    let dir = tempfile::tempdir().unwrap();
    let (mut app, _) = sweep_app_of(dir.path(), [("0.1", 1.6), ("0.01", 1.0), ("0.001", 0.5)]);
    app.runs.focused = app.runs.order.first().cloned();
    press(&mut app, &[ch('b'), ch('v')]);
    let Some(Popup::Board(board)) = &app.popup else { panic!() };
    let table = board.table(&app.runs);
    let points = workbench::app::board::value_points(&table, "lr").unwrap();
    assert!(points.log_x);
    assert_eq!(points.runs.len(), 9, "one point per run");
    assert_eq!(points.means.iter().map(|p| p.0).collect::<Vec<_>>(), [0.001, 0.01, 0.1], "a mean per value");
    let shown = screen(&app, 120, 40);
    assert!(shown.contains("best val_accuracy against lr, log x"), "{shown}");
    assert!(
        shown.contains("0.001") && shown.contains("0.1 lr"),
        "the axis shows the values, not their logs: {shown}"
    );
}

#[test]
fn export_and_requeue_come_from_the_board() {
    let dir = tempfile::tempdir().unwrap();
    let (mut app, _) = sweep_app(dir.path());
    // One cell failed: R requeues just it.
    let key_failed = app.runs.order[0].clone();
    let mut meta = app.runs.get(&key_failed).unwrap().meta.as_deref().unwrap().clone();
    meta.status = RunStatus::Failed;
    app.update(Event::Runs(vec![meta_event(meta)]));
    app.runs.focused = Some(key_failed.clone());
    press(&mut app, &[ch('b')]);
    let effects = press(&mut app, &[ch('R')]);
    assert_eq!(effects, [Effect::RequeueSweep { sweep: "s1".into(), runs: vec![key_failed] }]);
    let effects = press(&mut app, &[ch('e')]);
    let [Effect::ExportSweep { sweep, band: Some(band) }] = effects.as_slice() else { panic!("{effects:?}") };
    assert_eq!(sweep, "s1");
    assert_eq!(band.band.len(), 12, "one point per epoch");
    assert!(band.band.iter().all(|p| p.min <= p.mean && p.mean <= p.max));
}

#[test]
fn g_folds_a_sweep_into_one_row() {
    let dir = tempfile::tempdir().unwrap();
    let (mut app, _) = sweep_app(dir.path());
    app.focus = workbench::app::Pane::Runs;
    app.runs.focused = app.runs.order.first().cloned();
    assert_eq!(app.runs.visible().len(), 9);
    press(&mut app, &[ch('g')]);
    assert_eq!(app.runs.visible().len(), 1);
    let shown = screen(&app, 120, 40);
    assert!(shown.contains("sweep s1: 9 runs (finished 9)"), "{shown}");
    press(&mut app, &[ch('g')]);
    assert_eq!(app.runs.visible().len(), 9);
}

#[test]
fn a_sweeps_runs_share_a_colour_family() {
    let dir = tempfile::tempdir().unwrap();
    let (app, _) = sweep_app(dir.path());
    let families: std::collections::BTreeSet<usize> =
        app.runs.by_key.values().map(|r| r.family.expect("a sweep's run has a family").0).collect();
    assert_eq!(families.len(), 1, "one sweep, one family");
    let shades: std::collections::BTreeSet<usize> =
        app.runs.by_key.values().map(|r| r.family.unwrap().1).collect();
    assert_eq!(shades.len(), 9, "each run its own shade");
}

#[test]
fn b_without_a_sweep_says_how_to_make_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = app(dir.path(), 0);
    press(&mut app, &[ch('b')]);
    assert_eq!(app.popup, None);
    assert!(app.notice.as_ref().unwrap().text.contains("no sweeps yet"));
}

#[test]
fn board_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let (mut app, _) = sweep_app(dir.path());
    app.runs.focused = app.runs.order.first().cloned();
    press(&mut app, &[ch('b')]);
    insta::assert_snapshot!("board_table_80x24", screen(&app, 80, 24));
    insta::assert_snapshot!("board_table_120x40", screen(&app, 120, 40));
    press(&mut app, &[key(KeyCode::Enter)]);
    insta::assert_snapshot!("board_band_80x24", screen(&app, 80, 24));
    insta::assert_snapshot!("board_band_120x40", screen(&app, 120, 40));
    press(&mut app, &[key(KeyCode::Esc), ch('v')]);
    insta::assert_snapshot!("board_values_80x24", screen(&app, 80, 24));
    insta::assert_snapshot!("board_values_120x40", screen(&app, 120, 40));
}

/// The "done when", in tmux: lists typed into the learning rate and the seed, `s`, Enter;
/// the terminal closed while the sweep runs; a new TUI's `b` reads which learning rate won, with
/// its spread over the seeds, and Enter shows the band chart.
#[test]
fn a_sweep_typed_into_the_form_survives_the_terminal_and_its_board_says_who_won() {
    use common::tmux::{tmux_missing, Tmux};
    use std::time::Duration;
    if tmux_missing("sweep_tui") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("datasets")).unwrap();
    std::fs::copy(common::shipped_datasets().join("iris.csv"), dir.path().join("datasets/iris.csv")).unwrap();
    std::fs::write(dir.path().join("config.toml"), "[train]\nepochs = 5\nthreads = 1\n").unwrap();
    let open = || {
        let cmd = format!("{}; echo WORKBENCH_EXIT=$?; sleep 60", env!("CARGO_BIN_EXE_workbench"));
        let env = format!("XDG_STATE_HOME={}", dir.path().join("state").display());
        let tmux = Tmux::start_with_env(&cmd, 100, 30, dir.path(), &[&env]);
        tmux.wait_for("Preview: iris", Duration::from_secs(30));
        tmux.wait_for("CPU  ", Duration::from_secs(30));
        tmux
    };
    let tmux = open();
    // The model pane: model, epochs, batch size, learning rate (0.01), optimizer, seed (42).
    tmux.keys(&["Tab", "Down", "Down", "Down", "Enter", "BSpace", "BSpace", "BSpace", "BSpace"]);
    tmux.keys(&["0.1, 0.01", "Enter", "Down", "Down", "Enter", "BSpace", "BSpace", "1,2,3", "Enter"]);
    tmux.wait_for("learning rate 0.1, 0.01", Duration::from_secs(5));
    tmux.keys(&["s"]);
    let pane =
        tmux.wait_for("sweep of 6 runs: lr × seed; Enter to queue, Esc to go back", Duration::from_secs(5));
    assert!(pane.contains("Queue a sweep?") && pane.contains("lr=0.1 seed=1"), "{pane}");
    tmux.keys(&["Enter"]);
    tmux.wait_for("queued sweep ", Duration::from_secs(30));
    // Close the terminal's TUI (leaving the runs to the queue), and wait for them on disk.
    tmux.keys(&["q"]);
    tmux.keys(&["Enter"]);
    tmux.wait_for("WORKBENCH_EXIT=0", Duration::from_secs(15));
    drop(tmux);
    let runs = dir.path().join("runs");
    let deadline = std::time::Instant::now() + Duration::from_secs(240);
    loop {
        let statuses: Vec<RunStatus> =
            workbench::runs::list_runs(&runs).iter().filter_map(|r| r.effective_status()).collect();
        if statuses.len() == 6 && statuses.iter().all(|s| *s == RunStatus::Finished) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the queue ran the sweep: {statuses:?}");
        std::thread::sleep(Duration::from_millis(300));
    }
    let names = workbench::sweep::record::list_names(&runs);
    assert_eq!(names.len(), 1, "{names:?}");
    let record = workbench::sweep::record::SweepRecord::load(&runs, &names[0]).unwrap();
    assert_eq!(record.cells.len(), 6);
    assert!(
        record.command_line.starts_with("workbench sweep --lr '0.1, 0.01' --seed 1,2,3"),
        "{}",
        record.command_line
    );

    // Come back: b lists the sweeps (no run focused), Enter opens the board.
    let tmux = open();
    tmux.keys(&["b"]);
    tmux.wait_for("Sweeps, newest first", Duration::from_secs(10));
    tmux.keys(&["Enter"]);
    let pane = tmux.wait_for("finished 6", Duration::from_secs(10));
    assert!(pane.contains("best lr="), "the board names the winner:\n{pane}");
    assert!(pane.contains("(n=3, "), "with n and the spread over the seeds:\n{pane}");
    tmux.keys(&["Enter"]);
    tmux.wait_for("mean line, min to max shaded", Duration::from_secs(10));
}
