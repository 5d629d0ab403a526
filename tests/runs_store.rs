//! Run folders as their viewers see them: the follower, liveness by lock, the control file, and
//! export. Folders are written by hand; no training.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod run_fixture;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use run_fixture::*;
use workbench::runs::export::{csv_text, write_png, write_svg, ExportRun, CSV_HEADER};
use workbench::runs::{
    host_name, list_runs, send_control, spawn_watcher, ControlCommand, RunEvent, RunLock, RunStatus,
    RunsError, RunsFollower,
};

const EPOCHS: [Epoch; 3] = [(1, 1.1, 1.0, 0.5), (2, 0.7, 0.75, 0.8), (3, 0.5, 0.6, 0.75)];

fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

fn epochs_of(events: &[RunEvent]) -> Vec<u32> {
    events
        .iter()
        .filter_map(|e| match e {
            RunEvent::Epochs { rows, .. } => Some(rows.iter().map(|r| r.epoch).collect::<Vec<_>>()),
            _ => None,
        })
        .flatten()
        .collect()
}

#[test]
fn the_follower_reads_only_what_was_appended_and_keeps_a_cut_off_row_for_later() {
    let root = tempfile::tempdir().unwrap();
    let dir = finished_run(root.path(), "20261126-150102-iris-mlp-cpu", &EPOCHS[..1]);
    // A running run of this process: its status stays running while we follow it.
    let _lock = RunLock::acquire(&dir).unwrap();
    let toml = run_toml("20261126-150102-iris-mlp-cpu", "running", std::process::id(), &host_name(), 3);
    std::fs::write(dir.join("run.toml"), toml).unwrap();
    let mut follower = RunsFollower::new(vec![root.path().to_path_buf()]);

    let first = follower.poll();
    assert!(
        matches!(&first[0], RunEvent::Meta { status: RunStatus::Running, key, .. } if key == "20261126-150102-iris-mlp-cpu"),
        "{first:?}"
    );
    assert_eq!(epochs_of(&first), [1]);
    assert!(first.iter().any(|e| matches!(e, RunEvent::Steps { rows, .. } if rows.len() == 2)));
    assert!(follower.poll().is_empty(), "nothing changed, nothing sent");

    // Epoch 2 arrives in two writes: the first without its newline.
    append(&dir.join("metrics.csv"), "2,0.7,0.75,0.8,1000.0,1.0");
    assert_eq!(epochs_of(&follower.poll()), Vec::<u32>::new(), "a row without its newline waits");
    append(&dir.join("metrics.csv"), ",16\n3,0.5,0.6,0.75,1000.0,1.5,24\n");
    let events = follower.poll();
    assert_eq!(epochs_of(&events), [2, 3], "each row once, the cut one whole");
    let RunEvent::Epochs { rows, .. } = &events[0] else { panic!("{events:?}") };
    assert_eq!((rows[0].train_loss, rows[0].step), (0.7, Some(16)));
    assert!(follower.poll().is_empty());

    // Older folders: steps.csv without wall_s.
    std::fs::write(dir.join("steps.csv"), "step,epoch,loss\n1,1,0.5\n").unwrap();
    let events = follower.poll();
    assert!(
        events.iter().any(|e| matches!(e, RunEvent::Steps { rows, .. } if rows[0].wall_s.is_none())),
        "a replaced file is read from its start: {events:?}"
    );

    std::fs::remove_dir_all(&dir).unwrap();
    let events = follower.poll();
    assert_eq!(events, [RunEvent::Removed { key: "20261126-150102-iris-mlp-cpu".into() }]);
}

fn telemetry_rows(events: &[RunEvent]) -> Vec<Vec<Option<f64>>> {
    events
        .iter()
        .filter_map(|e| match e {
            RunEvent::Telemetry { update, .. } => Some(update.telemetry.rows.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

#[test]
fn the_follower_sends_only_new_telemetry_rows() {
    let root = tempfile::tempdir().unwrap();
    let key = "20261126-150102-iris-mlp-cpu";
    let dir = finished_run(root.path(), key, &EPOCHS[..1]);
    let _lock = RunLock::acquire(&dir).unwrap();
    let toml = run_toml(key, "running", std::process::id(), &host_name(), 3);
    std::fs::write(dir.join("run.toml"), toml).unwrap();
    let csv = dir.join("telemetry.csv");
    std::fs::write(&csv, "time_s,cpu_percent,rss_mb\n1.0,50.0,200.0\n").unwrap();
    let mut follower = RunsFollower::new(vec![root.path().to_path_buf()]);

    let first = follower.poll();
    assert_eq!(telemetry_rows(&first), [vec![Some(1.0), Some(50.0), Some(200.0)]], "{first:?}");
    let Some(RunEvent::Telemetry { key: k, update }) =
        first.iter().find(|e| matches!(e, RunEvent::Telemetry { .. }))
    else {
        panic!("{first:?}")
    };
    assert_eq!((k.as_str(), update.restarted), (key, false));
    assert_eq!(update.telemetry.columns, ["time_s", "cpu_percent", "rss_mb"]);
    assert!(follower.poll().is_empty(), "nothing new, nothing sent");

    append(&csv, "2.0,60.0,210.0\n3.0,");
    let events = follower.poll();
    assert_eq!(telemetry_rows(&events), [vec![Some(2.0), Some(60.0), Some(210.0)]], "only the new row");
    append(&csv, ",220.0\n");
    assert_eq!(telemetry_rows(&follower.poll()), [vec![Some(3.0), None, Some(220.0)]]);
}

#[test]
fn a_corrupt_run_toml_is_a_problem_and_hides_no_other_run() {
    let root = tempfile::tempdir().unwrap();
    finished_run(root.path(), "20261126-150102-iris-mlp-cpu", &EPOCHS);
    let bad = finished_run(root.path(), "20261127-090000-iris-mlp-cpu", &EPOCHS);
    std::fs::write(bad.join("run.toml"), "status = \"running\"\nthis is not toml\n").unwrap();
    let other_version = finished_run(root.path(), "20261128-090000-iris-mlp-cpu", &EPOCHS);
    let toml = std::fs::read_to_string(other_version.join("run.toml")).unwrap();
    let toml = toml.replace("dataset = \"iris\"\nmodel", "model").replace(env!("CARGO_PKG_VERSION"), "9.0.0");
    std::fs::write(other_version.join("run.toml"), toml).unwrap();
    let bad_metrics = finished_run(root.path(), "20261129-090000-iris-mlp-cpu", &EPOCHS);
    append(&bad_metrics.join("metrics.csv"), "4,not-a-number,0.5,0.5,1000.0,2.0,32\n");
    let before: Vec<_> = std::fs::read_dir(&bad).unwrap().map(|e| e.unwrap().path()).collect();

    let events = RunsFollower::new(vec![root.path().to_path_buf()]).poll();
    let problem = |key: &str| {
        events.iter().find_map(|e| match e {
            RunEvent::Problem { key: k, problem, .. } if k == key => Some(problem.clone()),
            _ => None,
        })
    };
    let text = problem("20261127-090000-iris-mlp-cpu").expect("corrupt run.toml is a problem");
    assert!(text.contains("run.toml"), "{text}");
    let text = problem("20261128-090000-iris-mlp-cpu").expect("another version's folder");
    assert!(text.contains("made by workbench 9.0.0"), "{text}");
    let text = problem("20261129-090000-iris-mlp-cpu").expect("a bad metrics row");
    assert!(text.contains("metrics.csv line 5") && text.contains("train_loss"), "{text}");
    let metas: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            RunEvent::Meta { key, .. } => Some(key.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(metas, ["20261126-150102-iris-mlp-cpu", "20261129-090000-iris-mlp-cpu"]);
    let after: Vec<_> = std::fs::read_dir(&bad).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(before, after, "the viewer wrote nothing");

    let listing = list_runs(root.path());
    assert_eq!(listing.len(), 4);
    assert!(listing.iter().filter(|r| r.record.is_err()).count() == 2);
    assert_eq!(listing[3].effective_status(), Some(RunStatus::Finished));
}

/// A python3 child that holds the run's lock until killed, as a run process does.
fn lock_holder(dir: &Path) -> std::process::Child {
    let script = "import fcntl,sys,time\nf=open(sys.argv[1],'a')\nfcntl.flock(f,fcntl.LOCK_EX)\n\
                  print('locked',flush=True)\ntime.sleep(600)";
    let mut child = Command::new("python3")
        .args(["-c", script, dir.join("lock").to_str().unwrap()])
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "locked");
    child
}

#[test]
fn a_run_whose_lock_holder_is_killed_reads_interrupted() {
    let root = tempfile::tempdir().unwrap();
    let dir = finished_run(root.path(), "20261126-150102-iris-mlp-cpu", &EPOCHS);
    let mut child = lock_holder(&dir);
    // run.toml names a pid that is certainly alive (ours): only the lock can tell the truth.
    let toml = run_toml("20261126-150102-iris-mlp-cpu", "running", std::process::id(), &host_name(), 5);
    std::fs::write(dir.join("run.toml"), toml).unwrap();
    let mut follower = RunsFollower::new(vec![root.path().to_path_buf()]);
    let events = follower.poll();
    assert!(matches!(&events[0], RunEvent::Meta { status: RunStatus::Running, .. }), "{events:?}");
    assert_eq!(list_runs(root.path())[0].effective_status(), Some(RunStatus::Running));
    send_control(&dir, ControlCommand::Pause).unwrap();
    assert_eq!(std::fs::read_to_string(dir.join("control")).unwrap(), "pause\n");

    child.kill().unwrap();
    child.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let events = loop {
        let events = follower.poll();
        if !events.is_empty() || Instant::now() > deadline {
            break events;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(matches!(&events[0], RunEvent::Meta { status: RunStatus::Interrupted, .. }), "{events:?}");
    assert_eq!(list_runs(root.path())[0].effective_status(), Some(RunStatus::Interrupted));
    let err = send_control(&dir, ControlCommand::Stop).unwrap_err();
    assert_eq!(err.to_string(), "20261126-150102-iris-mlp-cpu is interrupted; nothing to stop");
    let err = send_control(&dir, ControlCommand::Resume).unwrap_err();
    assert!(err.to_string().contains("workbench train --resume 20261126-150102-iris-mlp-cpu"), "{err}");
}

#[test]
fn control_of_a_finished_or_queued_run_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let dir = finished_run(root.path(), "20261126-150102-iris-mlp-cpu", &EPOCHS);
    let err = send_control(&dir, ControlCommand::Stop).unwrap_err();
    assert_eq!(err.to_string(), "20261126-150102-iris-mlp-cpu is finished; nothing to stop");
    assert!(!dir.join("control").exists(), "nothing written for a run that can't read it");
    let toml = run_toml("q", "queued", 0, &host_name(), 5);
    std::fs::write(dir.join("run.toml"), toml).unwrap();
    assert!(matches!(send_control(&dir, ControlCommand::Pause), Err(RunsError::Queued { .. })));
}

#[test]
fn exported_csv_rows_match_metrics_csv() {
    let root = tempfile::tempdir().unwrap();
    let a = finished_run(root.path(), "run-a", &EPOCHS);
    let b = finished_run(root.path(), "run-b", &EPOCHS[..2]);
    let runs = [ExportRun::load(&a).unwrap(), ExportRun::load(&b).unwrap()];
    let text = csv_text(&runs).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next().unwrap(), "run,epoch,step,wall_s,metric,value");
    assert_eq!(CSV_HEADER.join(","), "run,epoch,step,wall_s,metric,value");
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let epoch_rows = |run: &str, metric: &str| -> Vec<(String, String)> {
        rows.iter()
            .filter(|r| r[0] == run && r[4] == metric)
            .map(|r| (r[1].to_string(), r[5].to_string()))
            .collect()
    };
    for (run, epochs) in [("run-a", &EPOCHS[..]), ("run-b", &EPOCHS[..2])] {
        let expect = |f: fn(&Epoch) -> f64| {
            epochs.iter().map(|e| (e.0.to_string(), f(e).to_string())).collect::<Vec<_>>()
        };
        assert_eq!(epoch_rows(run, "train_loss"), expect(|e| e.1));
        assert_eq!(epoch_rows(run, "val_loss"), expect(|e| e.2));
        assert_eq!(epoch_rows(run, "val_accuracy"), expect(|e| e.3));
        assert_eq!(epoch_rows(run, "step_loss").len(), 2 * epochs.len());
    }
    assert_eq!(rows.len(), 5 * 5, "3 metrics and 2 steps an epoch, 5 epochs in all");
    let first = &rows[0];
    assert_eq!(first, &["run-a", "1", "8", "0.5", "train_loss", "1.1"], "step and wall_s from the epoch row");
    assert!(!text.contains('"'), "numbers unquoted");
}

#[test]
fn svg_parses_and_names_every_run_and_png_has_the_size_asked() {
    let root = tempfile::tempdir().unwrap();
    let a = finished_run(root.path(), "lr-0.1", &EPOCHS);
    let b = finished_run(root.path(), "lr-0.01", &EPOCHS[..2]);
    let runs = [ExportRun::load(&a).unwrap(), ExportRun::load(&b).unwrap()];
    let svg_path = root.path().join("curves.svg");
    write_svg(&runs, &svg_path, (800, 500)).unwrap();
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    let doc = roxmltree::Document::parse(&svg).expect("SVG is XML");
    let texts: Vec<&str> = doc.descendants().filter_map(|n| n.text()).collect();
    // The legend names the runs by what differs between them: the epochs they planned.
    for name in ["epochs=3 train", "epochs=3 val", "epochs=2 train", "epoch", "loss", "Loss per epoch"] {
        assert!(texts.iter().any(|t| t.contains(name)), "{name} in {texts:?}");
    }
    let png_path = root.path().join("curves.png");
    write_png(&runs, &png_path, (640, 360)).unwrap();
    let image = image::open(&png_path).expect("a PNG").to_rgb8();
    assert_eq!(image.dimensions(), (640, 360));
    let (r, g, b) = workbench::runs::run_colour(0);
    assert!(image.pixels().any(|p| p.0 == [r, g, b]), "the first run's colour is drawn");
    assert!(image.pixels().filter(|p| p.0 == [0, 0, 0]).count() > 100, "axes and text are drawn");
}

#[test]
fn a_run_without_epochs_cant_be_drawn_and_an_unwritable_file_is_named() {
    let root = tempfile::tempdir().unwrap();
    let dir = finished_run(root.path(), "empty", &[]);
    let runs = [ExportRun::load(&dir).unwrap()];
    let err = write_svg(&runs, &root.path().join("x.svg"), (800, 500)).unwrap_err();
    assert!(err.to_string().contains("empty has no metrics yet"), "{err}");
    let full = finished_run(root.path(), "full", &EPOCHS);
    let runs = [ExportRun::load(&full).unwrap()];
    let err = workbench::runs::export::write_csv(&runs, &root.path().join("no/such/folder.csv")).unwrap_err();
    assert!(err.to_string().starts_with("cannot write ") && err.to_string().contains("folder.csv"), "{err}");
}

#[test]
fn the_watcher_thread_sends_changes_and_stops_when_dropped() {
    let root = tempfile::tempdir().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = spawn_watcher(vec![root.path().to_path_buf()], Duration::from_millis(50), move |events| {
        tx.send(events).is_ok()
    })
    .unwrap();
    finished_run(root.path(), "20261126-150102-iris-mlp-cpu", &EPOCHS);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut got = Vec::new();
    while !got.iter().any(|e| matches!(e, RunEvent::Epochs { .. })) {
        let left = deadline.saturating_duration_since(Instant::now());
        got.extend(rx.recv_timeout(left).expect("events in time"));
    }
    assert!(matches!(&got[0], RunEvent::Meta { status: RunStatus::Finished, .. }), "{got:?}");
    drop(handle); // joins the thread
    assert!(rx.recv().is_err(), "the thread is gone, and its sink with it");
}
