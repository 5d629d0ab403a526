//! The real binary, headless: `train`, `devices`, `datasets`, `runs`, `paths`; exit codes and errors.
// Test and benchmark code may unwrap and panic: a failure names its line (lints: Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;
mod run_fixture;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use workbench::runs::{load_run, RunStatus, METRICS_HEADER};

/// A project folder like a user's: config.toml, datasets/, runs/.
fn project() -> tempfile::TempDir {
    let dir = tempdir();
    std::fs::create_dir(dir.path().join("datasets")).unwrap();
    std::fs::copy(shipped_datasets().join("iris.csv"), dir.path().join("datasets/iris.csv")).unwrap();
    std::fs::copy(repo().join("config.toml"), dir.path().join("config.toml")).unwrap();
    dir
}

#[test]
fn train_prints_a_line_per_epoch_and_a_summary_naming_the_run_folder() {
    let dir = project();
    let out = workbench(
        dir.path(),
        &["train", "--dataset", "iris", "--model", "mlp", "--device", "cpu", "--epochs", "12"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let epoch_lines: Vec<&str> = stdout.lines().filter(|l| l.starts_with("epoch ")).collect();
    assert_eq!(epoch_lines.len(), 12, "{stdout}");
    assert!(epoch_lines[11].starts_with("epoch 12/12  train_loss "), "{}", epoch_lines[11]);
    assert!(epoch_lines[11].contains("val_acc "));
    assert!(!stdout.contains('\r') && !stdout.contains('\x1b'), "plain lines when stdout is not a terminal");
    let first = stdout.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("training mlp on iris with CPU")
            && first.contains("CPU threads (libtorch's default)"),
        "{first}"
    );
    let summary = stdout.lines().find(|l| l.starts_with("finished after 12 epochs")).expect(&stdout);
    assert!(summary.contains("val_acc"), "{summary}");
    let folder = stdout.lines().find_map(|l| l.strip_prefix("run folder: ")).expect(&stdout);
    assert!(
        folder.starts_with(dir.path().join("runs").to_str().unwrap()),
        "runs/ beside config.toml: {folder}"
    );

    // What the run folder holds.
    let run = Path::new(folder);
    let record = load_run(run).unwrap();
    assert_eq!(record.meta.status, RunStatus::Finished);
    assert_eq!(record.meta.dataset, "iris");
    assert_eq!(record.meta.device, "cpu");
    assert_eq!(record.meta.hyperparameters.epochs, 12);
    assert_eq!(record.meta.versions.libtorch, "2.11.0");
    assert!(record.meta.started_at.starts_with("20"));
    assert_eq!(record.epochs.len(), 12);
    let metrics = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    assert_eq!(metrics.lines().next(), Some(METRICS_HEADER));
    assert!(run.join("model.safetensors").is_file());
    let learner = workbench::train::models::load_checkpoint(&record, tch::Device::Cpu).unwrap();
    assert_eq!(learner.var_store().variables().len(), 4, "two layers, weight and bias each");

    // Telemetry: the run process's own figures, on a CPU run too (GPU columns only with NVML).
    let telemetry =
        workbench::telemetry::parse_telemetry(&std::fs::read_to_string(run.join("telemetry.csv")).unwrap());
    assert_eq!(telemetry.columns[..3], ["time_s", "cpu_percent", "rss_mb"]);
    let rss = telemetry.series("rss_mb");
    assert!(!rss.is_empty() && rss.iter().all(|&(_, mb)| mb > 10.0), "{rss:?}");
}

#[test]
fn flags_override_config_and_quiet_prints_only_the_summary() {
    let dir = project();
    let runs = dir.path().join("elsewhere");
    let out = workbench(
        dir.path(),
        &[
            "train",
            "--epochs",
            "3",
            "--lr",
            "0.05",
            "--batch-size",
            "8",
            "--seed",
            "3",
            "--hidden",
            "8,4",
            "--threads",
            "1",
            "--quiet",
            "--runs-dir",
            runs.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
    let folder = stdout.lines().find_map(|l| l.strip_prefix("run folder: ")).unwrap();
    let meta = load_run(Path::new(folder)).unwrap().meta;
    assert!(Path::new(folder).starts_with(&runs));
    assert_eq!(
        (meta.hyperparameters.lr, meta.hyperparameters.batch_size, meta.hyperparameters.seed),
        (0.05, 8, 3)
    );
    assert_eq!(meta.hyperparameters.hidden, vec![8, 4]);
    assert_eq!(meta.hyperparameters.threads, 1);
}

#[test]
fn errors_are_one_line_with_a_non_zero_exit() {
    let dir = project();
    let cases: &[(&[&str], &str)] = &[
        (&["train", "--device", "cuda:3"], "error: device cuda:3 is not available"),
        (
            &["train", "--device", "tpu"],
            "error: --device \"tpu\" is not valid: \"tpu\" is not a device; use auto, cpu, cuda or cuda:N",
        ),
        (&["train", "--dataset", "nope"], "error: no dataset named \"nope\""),
        (&["train", "--model", "adaline"], "error: adaline needs exactly 2 classes"),
        (
            &["train", "--lr", "-1"],
            "error: --lr -1 is not valid: the learning rate must be a positive number",
        ),
        (&["train", "--val-fraction", "1.5"], "error: --val-fraction 1.5 is not valid"),
        (&["train", "--threads", "5000"], "error: --threads 5000 is not valid: use 0 (libtorch's default"),
        (&["train", "--config", "missing.toml"], "error: config file"),
    ];
    for (args, expected) in cases {
        let out = workbench(dir.path(), args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.starts_with(expected), "{args:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: one line: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    if workbench::device::probe().cuda.is_empty() {
        let out = workbench(dir.path(), &["train", "--device", "cuda"]);
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains("CUDA is not usable") && stderr.contains("available devices: cpu"),
            "{stderr}"
        );
    }
}

#[test]
fn a_broken_config_names_the_file_line_and_key() {
    let dir = project();
    std::fs::write(dir.path().join("config.toml"), "[train]\nepochz = 5\n").unwrap();
    let out = workbench(dir.path(), &["datasets"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("config.toml is invalid: line 2, column 1: unknown field `epochz`")
            && stderr.contains("(`epochz = 5`)"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");

    std::fs::write(dir.path().join("config.toml"), "[train]\nlr = 0\n").unwrap();
    let stderr = text(&workbench(dir.path(), &["datasets"]).stderr);
    assert!(stderr.contains("train.lr = 0 is not valid"), "{stderr}");
}

#[test]
fn devices_lists_the_cpu_and_says_why_cuda_is_or_is_not_usable() {
    let dir = project();
    let out = workbench(dir.path(), &["devices"]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("cpu "), "{stdout}");
    assert!(stdout.contains("cores; libtorch uses"), "{stdout}");
    assert!(stdout.contains("cuda:0 ") || stdout.contains("cuda     not usable: "), "{stdout}");

    let out = workbench(dir.path(), &["devices", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert!(json["cpu"]["cores"].as_u64().unwrap() >= 1);
    assert!(json["cuda"].is_array());
    assert_eq!(json["cuda"].as_array().unwrap().is_empty(), json["cuda_unavailable"].is_string());
    // GPU telemetry: available, or a reason that names NVML (on a CPU machine: the missing driver).
    let telemetry = &json["telemetry"];
    assert_eq!(telemetry["available"].as_bool(), Some(telemetry["reason"].is_null()), "{telemetry}");
    if let Some(why) = telemetry["reason"].as_str() {
        assert!(why.contains("NVML"), "{why}");
        assert!(stdout.contains(&format!("telemetry no GPU figures: {why}")), "{stdout}");
    } else {
        assert!(stdout.contains("telemetry GPU figures from NVML"), "{stdout}");
    }
}

#[test]
fn datasets_lists_rows_features_target_classes_and_problems() {
    let dir = project();
    std::fs::write(dir.path().join("datasets/broken.csv"), "a,b,c\n1,2,x\n3,4\n").unwrap();
    let out = workbench(dir.path(), &["datasets"]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    let iris = stdout.lines().find(|l| l.trim_start().starts_with("iris ")).expect(&stdout);
    assert!(
        iris.contains("150")
            && iris.contains("species")
            && iris.contains("setosa 50, versicolor 50, virginica 50"),
        "{iris}"
    );
    let broken = stdout.lines().find(|l| l.trim_start().starts_with("broken ")).expect(&stdout);
    assert!(broken.contains("problem:") && broken.contains("line 3"), "{broken}");

    let out = workbench(dir.path(), &["datasets", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    let list = json["datasets"].as_array().unwrap();
    let iris = list.iter().find(|d| d["name"] == "iris").unwrap();
    assert_eq!(iris["rows"], 150);
    assert_eq!(iris["features"], 4);
    assert_eq!(iris["task"]["kind"], "classification");
    assert!(list.iter().any(|d| d["name"] == "broken" && d["problem"].as_str().unwrap().contains("line 3")));
}

#[test]
fn paths_and_runs_list_what_is_where() {
    let dir = project();
    let out = workbench(dir.path(), &["paths", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["datasets"], dir.path().join("datasets").to_str().unwrap());
    assert_eq!(json["runs"], dir.path().join("runs").to_str().unwrap());
    assert!(json["libtorch"].as_str().unwrap().contains("libtorch"));
    assert!(json["log_file"].as_str().unwrap().starts_with(dir.path().join("state").to_str().unwrap()));

    let out = workbench(dir.path(), &["train", "--epochs", "2", "--quiet"]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&workbench(dir.path(), &["runs"]).stdout);
    assert!(stdout.contains("-iris-mlp-cpu  finished") && stdout.contains("2 epochs"), "{stdout}");
}

#[test]
fn sigterm_marks_the_run_interrupted_and_keeps_its_epochs() {
    let dir = project();
    let mut child = KillOnDrop::new(
        Command::new(env!("CARGO_BIN_EXE_workbench"))
            .args(["train", "--epochs", "1000000", "--device", "cpu"])
            .current_dir(dir.path())
            .env("XDG_STATE_HOME", dir.path().join("state"))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    // Wait until a few epochs are on disk.
    let deadline = Instant::now() + Duration::from_secs(60);
    let metrics = loop {
        assert!(Instant::now() < deadline, "no epochs written in time");
        let found = std::fs::read_dir(dir.path().join("runs"))
            .ok()
            .and_then(|mut d| d.next())
            .map(|e| e.unwrap().path());
        if let Some(run) = found {
            let m = std::fs::read_to_string(run.join("metrics.csv")).unwrap_or_default();
            if m.lines().count() > 5 {
                break run;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let out = child.take().wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("interrupted after"), "{stdout}");
    let record = load_run(&metrics).unwrap();
    assert_eq!(record.meta.status, RunStatus::Interrupted);
    assert!(record.epochs.len() >= 5);
    assert_eq!(record.meta.epochs_completed as usize, record.epochs.len());
}

#[test]
fn a_killed_run_keeps_its_epochs_and_lists_as_interrupted() {
    let dir = project();
    let mut guard = KillOnDrop::new(
        Command::new(env!("CARGO_BIN_EXE_workbench"))
            .args(["train", "--epochs", "1000000", "--device", "cpu", "--quiet"])
            .current_dir(dir.path())
            .env("XDG_STATE_HOME", dir.path().join("state"))
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let run = loop {
        assert!(Instant::now() < deadline, "no epochs written in time");
        let found = std::fs::read_dir(dir.path().join("runs"))
            .ok()
            .and_then(|mut d| d.next())
            .map(|e| e.unwrap().path());
        if let Some(run) = found.filter(|r| {
            std::fs::read_to_string(r.join("metrics.csv")).unwrap_or_default().lines().count() > 3
        }) {
            break run;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut child = guard.take();
    child.kill().unwrap(); // SIGKILL: no chance to clean up
    child.wait().unwrap();
    let record = load_run(&run).unwrap();
    assert_eq!(record.meta.status, RunStatus::Running, "run.toml could not be updated");
    assert!(record.epochs.len() >= 3, "every flushed epoch survives");
    let listing = workbench::runs::list_runs(&dir.path().join("runs"));
    assert_eq!(listing[0].effective_status(), Some(RunStatus::Interrupted));
}

#[test]
fn stop_pause_resume_and_export_name_an_unknown_run() {
    let dir = project();
    for args in [
        &["stop", "nope"][..],
        &["pause", "nope"],
        &["resume", "nope"],
        &["export", "nope", "--csv", "x.csv"],
    ] {
        let out = workbench(dir.path(), args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = text(&out.stderr);
        assert!(
            stderr.starts_with("error: no run `nope` in ") && stderr.contains("`workbench runs` lists them"),
            "{args:?}: {stderr}"
        );
    }
    let out = workbench(dir.path(), &["export", "nope"]);
    assert!(text(&out.stderr).contains("nothing to write"), "{}", text(&out.stderr));
}

#[test]
fn runs_shows_a_short_runs_own_duration_not_its_whole_second_stamps() {
    let dir = project();
    let runs = dir.path().join("runs");
    let run = run_fixture::finished_run(&runs, "20261126-150102-iris-mlp-cpu", &[(1, 1.0, 0.9, 0.6)]);
    // Started and finished within 0.2 s that straddle a second: the stamps say one second.
    let toml = std::fs::read_to_string(run.join("run.toml")).unwrap().replace("15:02:32Z", "15:01:03Z");
    std::fs::write(run.join("run.toml"), toml).unwrap();
    let metrics = format!("{METRICS_HEADER}\n1,1.0,0.9,0.6,1000.0,0.2,8\n");
    std::fs::write(run.join("metrics.csv"), metrics).unwrap();

    let stdout = text(&workbench(dir.path(), &["runs"]).stdout);
    let line = stdout.lines().find(|l| l.contains("20261126-150102")).unwrap();
    assert!(line.trim_end().ends_with("0.2s"), "{stdout}");
    let json: serde_json::Value =
        serde_json::from_slice(&workbench(dir.path(), &["runs", "--json"]).stdout).unwrap();
    assert_eq!(json[0]["duration_s"], 0.2);
}

#[test]
fn runs_lists_problems_and_export_writes_every_format() {
    let dir = project();
    let runs = dir.path().join("runs");
    let epochs = [(1, 1.0, 0.9, 0.6), (2, 0.8, 0.7, 0.9), (3, 0.6, 0.65, 0.8)];
    run_fixture::finished_run(&runs, "20261126-150102-iris-mlp-cpu", &epochs);
    let second = run_fixture::finished_run(&runs, "20261126-160000-iris-mlp-cpu", &epochs[..2]);
    // Its telemetry: three values (an empty cell is no row), exported as telemetry/<column> rows.
    std::fs::write(second.join("telemetry.csv"), "time_s,cpu_percent,rss_mb\n1.0,50.0,200.0\n2.0,,210.5\n")
        .unwrap();
    let broken = run_fixture::finished_run(&runs, "20261127-000000-iris-mlp-cpu", &epochs);
    std::fs::write(broken.join("run.toml"), "not = [toml").unwrap();

    let out = workbench(dir.path(), &["runs", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let list = json.as_array().unwrap();
    assert_eq!(list.len(), 3);
    assert!(list[0]["problem"].as_str().unwrap().contains("run.toml"), "newest first: {json}");
    let run = &list[2];
    assert_eq!(run["id"], "20261126-150102-iris-mlp-cpu");
    assert_eq!(run["status"], "finished");
    assert_eq!((run["epochs_completed"].as_u64(), run["epochs_total"].as_u64()), (Some(3), Some(3)));
    assert_eq!(
        (run["best"]["metric"].as_str(), run["best"]["value"].as_f64()),
        (Some("accuracy"), Some(0.9))
    );
    // The run's own training time (metrics.csv's last elapsed_s), not its start and end stamps.
    assert_eq!(run["duration_s"], 1.5);
    let stdout = text(&workbench(dir.path(), &["runs"]).stdout);
    assert!(stdout.contains("val_acc 0.9000 @2") && stdout.contains("3/3 epochs"), "{stdout}");
    assert!(stdout.contains("20261127-000000-iris-mlp-cpu  problem: "), "{stdout}");

    let out = workbench(
        dir.path(),
        &[
            "export",
            "20261126-15",
            "20261126-160000-iris-mlp-cpu",
            "--csv",
            "all.csv",
            "--svg",
            "all.svg",
            "--png",
            "all.png",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 3, "{stdout}");
    assert!(stdout.starts_with("wrote 28 rows of 2 run(s) to all.csv"), "{stdout}");
    let csv = std::fs::read_to_string(dir.path().join("all.csv")).unwrap();
    assert_eq!(csv.lines().count(), 29);
    assert!(csv.contains("\n20261126-160000-iris-mlp-cpu,,,1,telemetry/cpu_percent,50\n"), "{csv}");
    assert!(csv.contains("\n20261126-160000-iris-mlp-cpu,,,2,telemetry/rss_mb,210.5\n"), "{csv}");
    assert!(std::fs::read(dir.path().join("all.png")).unwrap().starts_with(b"\x89PNG"));

    let out = workbench(dir.path(), &["stop", "20261126-160000"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stderr).trim(), "error: 20261126-160000-iris-mlp-cpu is finished; nothing to stop");
}

/// Out of memory, honestly: a model whose first weight alone is 32 GB, in a run process limited to
/// 16 GB of address space (`ulimit -v`), so libtorch's allocation really fails. The run fails as
/// out_of_memory with the figures and what to lower; the next run in the same folder finishes.
#[test]
fn a_run_out_of_memory_fails_with_figures_and_advice_and_the_next_run_works() {
    let dir = project();
    let out = Command::new("bash")
        .args(["-c", "ulimit -v 16000000 && exec \"$0\" \"$@\""])
        .arg(env!("CARGO_BIN_EXE_workbench"))
        .args(["train", "--model", "mlp", "--hidden", "2000000000,1000", "--epochs", "1", "--device", "cpu"])
        .current_dir(dir.path())
        .env_remove("RUST_LOG")
        .env("XDG_STATE_HOME", dir.path().join("state"))
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    // Planned first: the estimate already warned that it won't fit.
    assert!(stderr.contains("warning: this run may not fit"), "{stderr}");
    assert!(stderr.contains("out of memory on cpu"), "{stderr}");
    assert!(stderr.contains("the workbench's estimate: this run needs about"), "{stderr}");
    assert!(stderr.contains("Lower the batch size or the hidden sizes"), "{stderr}");
    let runs: Vec<_> =
        std::fs::read_dir(dir.path().join("runs")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(runs.len(), 1);
    let meta = std::fs::read_to_string(runs[0].join("run.toml")).unwrap();
    assert!(meta.contains("failure_kind = \"out_of_memory\""), "{meta}");

    let next = workbench(dir.path(), &["train", "--epochs", "3", "--device", "cpu", "--quiet"]);
    assert_eq!(next.status.code(), Some(0), "{}", text(&next.stderr));
}

#[test]
fn a_race_against_cpu_runs_two_marked_runs_of_one_curve_and_names_speed_up_and_etas() {
    let dir = project();
    let _stop = StopRunsOnDrop(dir.path().join("runs"));
    let out = workbench(
        dir.path(),
        &[
            "race",
            "--dataset",
            "iris",
            "--model",
            "mlp",
            "--epochs",
            "4",
            "--batch-size",
            "4",
            "--threads",
            "1",
            "--against",
            "cpu",
            "--against-threads",
            "2",
        ],
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains("speed-up") && stdout.contains("ETA"), "{stdout}");
    assert!(stdout.contains("cpu (1 threads)") && stdout.contains("cpu (2 threads)"), "{stdout}");
    assert!(stdout.contains("race over:"), "{stdout}");
    let mut runs: Vec<_> = std::fs::read_dir(dir.path().join("runs"))
        .unwrap()
        .map(|e| load_run(&e.unwrap().path()).unwrap())
        .collect();
    runs.sort_by_key(|r| r.meta.hyperparameters.threads);
    assert_eq!(runs.len(), 2);
    let (a, b) = (runs[0].meta.race.clone().unwrap(), runs[1].meta.race.clone().unwrap());
    assert_eq!(a.id, b.id, "one race");
    assert_eq!((a.side.as_str(), b.side.as_str()), ("cpu", "challenger"));
    assert_eq!(runs[0].meta.hyperparameters.seed, runs[1].meta.hyperparameters.seed);
    for r in &runs {
        assert_eq!(r.meta.status, RunStatus::Finished);
        assert_eq!(r.epochs.len(), 4);
    }
    for (x, y) in runs[0].epochs.iter().zip(&runs[1].epochs) {
        assert!(
            (x.train_loss - y.train_loss).abs() < 1e-4,
            "epoch {}: {} vs {}",
            x.epoch,
            x.train_loss,
            y.train_loss
        );
    }
}

#[test]
fn a_gpu_race_without_a_gpu_says_why_and_moving_a_finished_run_says_so() {
    if !workbench::device::probe().cuda.is_empty() {
        return;
    }
    let dir = project();
    let out = workbench(dir.path(), &["race", "--dataset", "iris", "--model", "mlp", "--epochs", "1"]);
    let err = text(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("needs a GPU") && err.contains("--against cpu"), "{err}");
    assert!(
        !dir.path().join("runs").exists() || std::fs::read_dir(dir.path().join("runs")).unwrap().count() == 0
    );
    let out = workbench(dir.path(), &["train", "--dataset", "iris", "--epochs", "1", "--quiet"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let run = std::fs::read_dir(dir.path().join("runs")).unwrap().next().unwrap().unwrap().path();
    let out = workbench(dir.path(), &["move", run.to_str().unwrap(), "--device", "cpu", "--threads", "2"]);
    let err = text(&out.stderr);
    assert!(!out.status.success() && err.contains("is finished; nothing to move"), "{err}");
}
