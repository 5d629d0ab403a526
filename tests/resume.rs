//! Checkpoints and resume: the same curve as a run never stopped (SGD with momentum, Adam), weight
//! names PyTorch loads, a failed checkpoint write, a changed dataset, and a detached run process
//! controlled through its folder and killed with SIGKILL.
// Test and benchmark code may unwrap and panic: a failure names its line (lints: Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::*;
use tch::{Device, Kind, Tensor};
use workbench::config::{ConfigFile, Settings};
use workbench::data::Task;
use workbench::device;
use workbench::runs::events::{CONTROL_FILE, LOCK_FILE};
use workbench::runs::{load_run, EpochRow, RunStatus, CHECKPOINT_FILE, TRAIN_STATE_FILE};
use workbench::train::checkpoint;
use workbench::train::models::{build, load_checkpoint};
use workbench::train::process::{run_in_folder, take_lock};
use workbench::train::resume::check_resumable;
use workbench::train::{
    create_queued_run, spawn_detached, spawn_run, spawn_run_in, Launcher, ModelKind, OptimizerKind,
    RunControl, RunFolder, RunRequest, TrainError, TrainMsg, TrainSpec,
};

fn assert_same_curve(a: &[EpochRow], b: &[EpochRow]) {
    assert_eq!(a.len(), b.len(), "one row per epoch");
    for (x, y) in a.iter().zip(b) {
        assert_eq!((x.epoch, x.step), (y.epoch, y.step));
        assert!(
            (x.train_loss - y.train_loss).abs() < 1e-5,
            "epoch {}: {} vs {}",
            x.epoch,
            x.train_loss,
            y.train_loss
        );
        let (vx, vy) = (x.val_loss.unwrap(), y.val_loss.unwrap());
        assert!((vx - vy).abs() < 1e-5, "epoch {}: val {vx} vs {vy}", x.epoch);
        assert!((x.val_metric.unwrap() - y.val_metric.unwrap()).abs() < 1e-5);
    }
}

fn steps_of(dir: &Path) -> Vec<(u64, String)> {
    let text = std::fs::read_to_string(dir.join("steps.csv")).unwrap();
    assert!(text.starts_with("step,epoch,loss,wall_s\n"), "{text:.40}");
    text.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].parse().unwrap(), f[2].to_string())
        })
        .collect()
}

#[test]
fn a_resumed_run_gives_the_curve_of_one_never_stopped_with_sgd_momentum_and_adam() {
    let catalog = shipped_catalog();
    let iris = catalog.get("iris").unwrap();
    for (optimizer, every) in [(OptimizerKind::Sgd, 2), (OptimizerKind::Adam, 1)] {
        let mut s = spec("iris", ModelKind::Mlp);
        (s.epochs, s.optimizer, s.momentum, s.lr, s.threads, s.checkpoint_every) =
            (6, optimizer, 0.9, 0.01, 1, every);

        let runs = tempdir();
        let whole = final_dir(&run_until(request(iris, s.clone(), runs.path()), RunFolder::New, None));
        let whole_rows = load_run(&whole).unwrap().epochs;
        assert_eq!(whole_rows.len(), 6);

        // Stopped after epoch 3: with checkpoints every 2 epochs (SGD), the checkpoint is after
        // epoch 2, so resuming drops the third row and runs it again.
        let runs = tempdir();
        let stopped = final_dir(&run_until(request(iris, s.clone(), runs.path()), RunFolder::New, Some(3)));
        let record = check_resumable(&stopped).unwrap();
        assert_eq!(record.meta.status, RunStatus::Stopped);
        assert_eq!(record.meta.checkpoint_epoch, Some(if every == 2 { 2 } else { 3 }), "{optimizer}");
        assert_eq!(record.epochs.len(), 3);

        let out = run_until(request(iris, s.clone(), runs.path()), RunFolder::Resume(stopped.clone()), None);
        assert!(matches!(out.last(), Some(TrainMsg::Finished { .. })), "{optimizer}: {:?}", out.last());
        let resumed = load_run(&stopped).unwrap();
        assert_eq!(resumed.meta.status, RunStatus::Finished);
        assert_eq!(resumed.meta.epochs_completed, 6);
        assert_same_curve(&whole_rows, &resumed.epochs);
        let (a, b) = (steps_of(&whole), steps_of(&stopped));
        assert_eq!(a.len(), 6 * 8, "steps.csv holds every step once");
        assert_eq!(a.iter().map(|s| s.0).collect::<Vec<_>>(), b.iter().map(|s| s.0).collect::<Vec<_>>());
        for ((step, x), (_, y)) in a.iter().zip(&b) {
            let (x, y): (f64, f64) = (x.parse().unwrap(), y.parse().unwrap());
            assert!((x - y).abs() < 1e-5, "{optimizer} step {step}: {x} vs {y}");
        }
        // A finished run is not resumed again.
        let e = check_resumable(&stopped).unwrap_err().to_string();
        assert!(e.contains("finished all its 6 epochs"), "{e}");
    }
}

#[test]
fn checkpoint_weights_carry_pytorch_names_and_shapes() {
    type Case = (ModelKind, Vec<i64>, Task, Vec<(&'static str, Vec<i64>)>);
    let cases: [Case; 4] = [
        (
            ModelKind::Mlp,
            vec![4],
            Task::Classification { classes: vec!["a".into(), "b".into(), "c".into()] },
            vec![
                ("0.bias", vec![8]),
                ("0.weight", vec![8, 4]),
                ("2.bias", vec![4]),
                ("2.weight", vec![4, 8]),
                ("4.bias", vec![3]),
                ("4.weight", vec![3, 4]),
            ],
        ),
        (
            ModelKind::Logreg,
            vec![4],
            Task::Classification { classes: vec!["a".into(), "b".into(), "c".into()] },
            vec![("bias", vec![3]), ("weight", vec![3, 4])],
        ),
        (
            ModelKind::Adaline,
            vec![4],
            Task::Classification { classes: vec!["a".into(), "b".into()] },
            vec![("bias", vec![1]), ("weight", vec![1, 4])],
        ),
        (
            ModelKind::Lenet5,
            vec![1, 28, 28],
            Task::Classification { classes: (0..10).map(|i| i.to_string()).collect() },
            vec![
                ("0.bias", vec![6]),
                ("0.weight", vec![6, 1, 5, 5]),
                ("11.bias", vec![10]),
                ("11.weight", vec![10, 84]),
                ("3.bias", vec![16]),
                ("3.weight", vec![16, 6, 5, 5]),
                ("7.bias", vec![120]),
                ("7.weight", vec![120, 400]),
                ("9.bias", vec![84]),
                ("9.weight", vec![84, 120]),
            ],
        ),
    ];
    for (model, shape, task, expected) in cases {
        let mut s = spec("x", model);
        s.hidden = vec![8, 4];
        let learner = build(&s, &shape, &task, Device::Cpu).unwrap();
        let dict = checkpoint::pytorch_state_dict(learner.as_ref(), &model.into());
        let got: Vec<(&str, Vec<i64>)> = dict.iter().map(|(n, t)| (n.as_str(), t.size())).collect();
        assert_eq!(got, expected, "{model}");
    }
}

#[test]
fn an_older_checkpoint_with_fc_names_still_loads() {
    let catalog = shipped_catalog();
    let runs = tempdir();
    let mut s = spec("iris", ModelKind::Mlp);
    s.epochs = 2;
    let out = train(catalog.get("iris").unwrap(), s, runs.path());
    let dir = out.run_dir();
    let path = dir.join(CHECKPOINT_FILE);
    let saved = Tensor::read_safetensors(&path).unwrap();
    let renamed: Vec<(String, Tensor)> = saved
        .iter()
        .map(|(n, t)| {
            let (i, p) = n.split_once('.').unwrap();
            (format!("fc{}.{p}", i.parse::<usize>().unwrap() / 2), t.shallow_clone())
        })
        .collect();
    Tensor::write_safetensors(&renamed, &path).unwrap();
    let record = load_run(&dir).unwrap();
    let learner = load_checkpoint(&record, Device::Cpu).unwrap();
    let w = &learner.var_store().variables()["2.weight"];
    let before = saved.iter().find(|(n, _)| n == "2.weight").unwrap().1.shallow_clone();
    assert!(w.allclose(&before, 0.0, 0.0, false), "the old fc1.weight became 2.weight");
}

/// Settings that find datasets in `datasets` and write runs to `runs`.
fn settings(datasets: &Path, runs: &Path) -> Settings {
    let mut s = Settings::from_file(ConfigFile::default(), runs, None);
    s.datasets_dir = datasets.to_path_buf();
    s.runs_dir = runs.to_path_buf();
    s.cache_dir = runs.join("cache");
    s
}

#[test]
fn resuming_on_a_changed_dataset_is_refused_with_what_changed() {
    let data = tempdir();
    let iris = std::fs::read_to_string(shipped_datasets().join("iris.csv")).unwrap();
    write(data.path(), "iris.csv", &iris);
    let catalog = scan(data.path());
    let runs = tempdir();
    let mut s = spec("iris", ModelKind::Logreg);
    s.epochs = 5;
    let out = run_until(request(catalog.get("iris").unwrap(), s, runs.path()), RunFolder::New, Some(1));
    let dir = final_dir(&out);
    assert!(load_run(&dir).unwrap().meta.data.fingerprint.is_some(), "run.toml records the dataset");

    // One more row.
    let last_line = iris.lines().last().unwrap();
    write(data.path(), "iris.csv", format!("{iris}{last_line}\n"));
    let settings = settings(data.path(), runs.path());
    let report = device::probe();
    let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let e = run_in_folder(&settings, &dir, true, &report, flag, &mut |_| {}).unwrap_err();
    let text = e.to_string();
    assert!(text.contains("changed since the run started"), "{text}");
    assert!(text.contains("its size went from"), "{text}");
    assert!(text.contains("content hash changed"), "{text}");
    assert_eq!(load_run(&dir).unwrap().meta.status, RunStatus::Stopped, "a refusal changes nothing");
}

fn wait_until(what: &str, deadline: Duration, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn status(dir: &Path) -> Option<RunStatus> {
    load_run(dir).ok().map(|r| r.meta.status)
}

fn send(dir: &Path, command: &str) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(dir.join(CONTROL_FILE)).unwrap();
    writeln!(f, "{command}").unwrap();
}

/// A long run on Iris, queued and started as its own process by the real binary.
fn start_detached(runs: &Path) -> (PathBuf, u32, TrainSpec) {
    let mut s = spec("iris", ModelKind::Mlp);
    (s.epochs, s.threads) = (1_000_000, 1);
    let (id, dir) = create_queued_run(runs, &s, "cpu").unwrap();
    assert_eq!(status(&dir), Some(RunStatus::Queued));
    assert!(id.ends_with("-iris-mlp-cpu"), "{id}");
    let launcher = Launcher {
        exe: PathBuf::from(env!("CARGO_BIN_EXE_workbench")),
        config: Some(repo().join("config.toml")),
        datasets_dir: shipped_datasets(),
        runs_dir: runs.to_path_buf(),
        cache_dir: runs.join("cache"),
    };
    let pid = spawn_detached(&dir, false, &launcher).unwrap();
    (dir, pid, s)
}

#[test]
fn a_detached_run_follows_its_control_file_and_survives_kill_9_to_resume() {
    let runs = tempdir();
    let _cleanup = StopRunsOnDrop(runs.path().to_path_buf());
    let (dir, pid, s) = start_detached(runs.path());
    let output = || std::fs::read_to_string(dir.join("output.log")).unwrap_or_default();
    wait_until("two epochs", Duration::from_secs(60), || load_run(&dir).is_ok_and(|r| r.epochs.len() >= 2));
    let e = take_lock(&dir).unwrap_err();
    assert!(matches!(e, TrainError::AlreadyRunning { pid: p, .. } if p == pid), "{e}; {}", output());
    let live = std::fs::read_to_string(dir.join("live.toml")).unwrap();
    assert!(live.contains(&format!("pid = {pid}")) && live.contains("phase = \"training\""), "{live}");

    send(&dir, "pause");
    wait_until("paused", Duration::from_secs(10), || status(&dir) == Some(RunStatus::Paused));
    wait_until("heartbeat paused", Duration::from_secs(10), || {
        std::fs::read_to_string(dir.join("live.toml")).unwrap_or_default().contains("phase = \"paused\"")
    });
    let at_pause = load_run(&dir).unwrap().epochs.len();
    send(&dir, "resume");
    wait_until("running again", Duration::from_secs(10), || status(&dir) == Some(RunStatus::Running));
    wait_until("more epochs", Duration::from_secs(30), || {
        load_run(&dir).unwrap().epochs.len() > at_pause + 1
    });

    // SIGKILL: nothing runs after it; the lock goes with the process.
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    wait_until("the lock to be free", Duration::from_secs(10), || take_lock(&dir).is_ok());
    let record = load_run(&dir).unwrap();
    assert_eq!(
        record.meta.status,
        RunStatus::Running,
        "run.toml still says running: a viewer reads interrupted"
    );
    let epochs: Vec<u32> = record.epochs.iter().map(|r| r.epoch).collect();
    assert_eq!(epochs, (1..=epochs.len() as u32).collect::<Vec<_>>(), "every completed epoch, in order");
    let checkpoint = record.meta.checkpoint_epoch.expect("a checkpoint");
    assert!(checkpoint >= 1, "{checkpoint}");
    assert!(dir.join(LOCK_FILE).is_file());

    // Resume here, stopping after one more epoch (the run was started for a million). run.toml's
    // checkpoint epoch may lag the checkpoint itself (it is rewritten at most once a second); the
    // checkpoint files decide where the run goes on.
    check_resumable(&dir).unwrap();
    let catalog = shipped_catalog();
    let out = run_until(
        request(catalog.get("iris").unwrap(), s, runs.path()),
        RunFolder::Resume(dir.clone()),
        Some(0),
    );
    assert!(matches!(out.last(), Some(TrainMsg::Stopped { .. })), "{:?}", out.last());
    let first = out
        .iter()
        .find_map(|m| match m {
            TrainMsg::Epoch { metrics, .. } => Some(metrics.epoch),
            _ => None,
        })
        .unwrap();
    assert!(first > checkpoint, "went on after epoch {first}, run.toml said {checkpoint}");
    let after = load_run(&dir).unwrap();
    let epochs: Vec<u32> = after.epochs.iter().map(|r| r.epoch).collect();
    assert_eq!(epochs, (1..=first).collect::<Vec<_>>(), "rows past the checkpoint replaced, one per epoch");
}

#[test]
fn a_detached_run_ignores_sighup_and_a_stop_in_its_control_file_ends_it_as_stopped() {
    let runs = tempdir();
    let _cleanup = StopRunsOnDrop(runs.path().to_path_buf());
    let (dir, pid, _) = start_detached(runs.path());
    wait_until("an epoch", Duration::from_secs(60), || load_run(&dir).is_ok_and(|r| !r.epochs.is_empty()));
    // A hangup (the starter's terminal closing) does not reach the run: it goes on.
    unsafe { libc::kill(pid as i32, libc::SIGHUP) };
    let before = load_run(&dir).unwrap().epochs.len();
    wait_until("epochs after SIGHUP", Duration::from_secs(30), || {
        load_run(&dir).unwrap().epochs.len() > before + 2
    });
    assert_eq!(status(&dir), Some(RunStatus::Running));
    send(&dir, "stop");
    wait_until("stopped", Duration::from_secs(20), || status(&dir) == Some(RunStatus::Stopped));
    wait_until("the process to end", Duration::from_secs(20), || take_lock(&dir).is_ok());
    let live = std::fs::read_to_string(dir.join("live.toml")).unwrap();
    assert!(live.contains("phase = \"ended\""), "{live}");
    check_resumable(&dir).unwrap();
}

#[test]
fn a_run_in_process_keeps_the_old_spawn_api() {
    // The in-process worker still writes a folder of its own with checkpoint files.
    let catalog = shipped_catalog();
    let runs = tempdir();
    let mut s = spec("iris", ModelKind::Logreg);
    s.epochs = 2;
    let (tx, rx) = mpsc::channel();
    let h = spawn_run(request(catalog.get("iris").unwrap(), s, runs.path()), RunControl::new(), move |m| {
        tx.send(m).is_ok()
    })
    .unwrap();
    let msgs: Vec<TrainMsg> = rx.iter().collect();
    h.join();
    let dir = final_dir(&msgs);
    assert!(dir.join(TRAIN_STATE_FILE).is_file());
    assert_eq!(load_run(&dir).unwrap().meta.checkpoint_epoch, Some(2));
    let _ = Kind::Float;
}

#[test]
fn the_cli_resumes_a_stopped_run_by_id_and_refuses_a_finished_one() {
    let runs = tempdir();
    let catalog = shipped_catalog();
    let mut s = spec("iris", ModelKind::Logreg);
    (s.epochs, s.threads) = (4, 1);
    let dir =
        final_dir(&run_until(request(catalog.get("iris").unwrap(), s, runs.path()), RunFolder::New, Some(2)));
    let id = dir.file_name().unwrap().to_string_lossy().into_owned();
    let cli = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_workbench"))
            .args(["--config", repo().join("config.toml").to_str().unwrap()])
            .args(["--datasets-dir", shipped_datasets().to_str().unwrap()])
            .args(["--runs-dir", runs.path().to_str().unwrap()])
            .args(["--cache-dir", runs.path().join("cache").to_str().unwrap()])
            .args(args)
            .output()
            .unwrap()
    };
    let out = cli(&["train", "--resume", &id]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("after epoch 2"), "{stdout}");
    assert!(
        stdout.contains("epoch 3/4") && stdout.contains("epoch 4/4") && !stdout.contains("epoch 2/4"),
        "{stdout}"
    );
    let epochs: Vec<u32> = load_run(&dir).unwrap().epochs.iter().map(|r| r.epoch).collect();
    assert_eq!(epochs, [1, 2, 3, 4]);

    let out = cli(&["train", "--resume", &id]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.starts_with("error: ") && stderr.contains("finished all its 4 epochs"), "{stderr}");
    let out = cli(&["train", "--resume", "no-such-run"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no run `no-such-run`"));
}

#[test]
fn resume_refuses_a_run_without_a_checkpoint_and_one_whose_lock_is_held() {
    let catalog = shipped_catalog();
    let iris = catalog.get("iris").unwrap();
    let runs = tempdir();
    let mut s = spec("iris", ModelKind::Logreg);
    (s.epochs, s.checkpoint_every) = (5, 0);
    let dir = final_dir(&run_until(request(iris, s.clone(), runs.path()), RunFolder::New, Some(1)));
    let e = check_resumable(&dir).unwrap_err().to_string();
    assert!(e.contains("has no checkpoint to resume from"), "{e}");

    s.checkpoint_every = 1;
    let dir = final_dir(&run_until(request(iris, s, runs.path()), RunFolder::New, Some(1)));
    check_resumable(&dir).unwrap();
    let held = take_lock(&dir).unwrap();
    let settings = settings(&shipped_datasets(), runs.path());
    let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let e = run_in_folder(&settings, &dir, true, &device::probe(), flag, &mut |_| {}).unwrap_err();
    assert!(matches!(e, TrainError::AlreadyRunning { .. }), "{e}");
    drop(held);
}

#[test]
fn a_queued_run_whose_dataset_is_gone_ends_failed_with_its_kind() {
    let runs = tempdir();
    let mut s = spec("no-such-data", ModelKind::Logreg);
    s.threads = 1;
    let (_, dir) = create_queued_run(runs.path(), &s, "cpu").unwrap();
    let settings = settings(&shipped_datasets(), runs.path());
    let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let e = run_in_folder(&settings, &dir, false, &device::probe(), flag.clone(), &mut |_| {}).unwrap_err();
    assert!(e.to_string().contains("no dataset named \"no-such-data\""), "{e}");
    let meta = load_run(&dir).unwrap().meta;
    assert_eq!(meta.status, RunStatus::Failed);
    assert_eq!(meta.failure_kind, Some(workbench::runs::FailureKind::Dataset));
    // Not queued any more: --run-dir refuses it.
    let e = run_in_folder(&settings, &dir, false, &device::probe(), flag, &mut |_| {}).unwrap_err();
    assert!(e.to_string().contains("is failed, not queued"), "{e}");
}

/// Run `request` in a fresh folder, asking it to move to `threads` CPU threads once `epoch` is done.
fn run_moving(request: RunRequest, after_epoch: u32, threads: u32) -> Vec<TrainMsg> {
    let (tx, rx) = mpsc::channel();
    let control = RunControl::new();
    let c = control.clone();
    let handle = spawn_run_in(request, RunFolder::New, control, move |m| {
        if let TrainMsg::Epoch { metrics, .. } = &m {
            if metrics.epoch == after_epoch {
                c.request_move(workbench::train::process::move_target("cpu", Some(threads)).unwrap());
            }
        }
        tx.send(m).is_ok()
    })
    .unwrap();
    let messages: Vec<TrainMsg> = rx.iter().collect();
    handle.join();
    messages
}

#[test]
fn a_run_moved_to_other_cpu_threads_continues_the_curve_of_one_never_moved() {
    let catalog = shipped_catalog();
    let iris = catalog.get("iris").unwrap();
    let mut s = spec("iris", ModelKind::Mlp);
    (s.epochs, s.optimizer, s.momentum, s.lr, s.threads) = (4, OptimizerKind::Sgd, 0.9, 0.01, 1);
    let runs = tempdir();
    let whole = final_dir(&run_until(request(iris, s.clone(), runs.path()), RunFolder::New, None));
    let moved_msgs = run_moving(request(iris, s.clone(), runs.path()), 2, 2);
    assert!(matches!(moved_msgs.last(), Some(TrainMsg::Finished { .. })), "{:?}", moved_msgs.last());
    let moved = final_dir(&moved_msgs);
    let record = load_run(&moved).unwrap();
    assert_same_curve(&load_run(&whole).unwrap().epochs, &record.epochs);
    assert_eq!(steps_of(&whole).len(), steps_of(&moved).len(), "every step once");
    let switches = &record.meta.device_switches;
    assert_eq!(switches.len(), 1, "{switches:?}");
    let sw = &switches[0];
    assert_eq!((sw.epoch, sw.step), (3, 16), "moved before epoch 3's first batch");
    assert_eq!((sw.from.as_str(), sw.to.as_str()), ("cpu threads=1", "cpu threads=2"));
    assert!(sw.wall_s > 0.0);
    assert_eq!(record.meta.hyperparameters.threads, 2, "a later --resume goes on with the new threads");
    // The move's checkpoint is a mid-epoch one a --resume reads; the last checkpoint replaced it.
    assert_eq!(record.meta.checkpoint_epoch, Some(4));
}

#[test]
fn a_move_to_a_missing_gpu_says_why() {
    if !device::probe().cuda.is_empty() {
        return; // a GPU is there: tests/gpu.rs moves onto it
    }
    let e = workbench::train::process::move_target("cuda:0", None).unwrap_err().to_string();
    assert!(e.contains("cuda:0") && e.contains("not available"), "{e}");
    let reason = device::probe().cuda_unavailable.unwrap();
    assert!(e.contains(&reason), "the device layer's reason: {e}");
}
