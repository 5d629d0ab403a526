//! Slurm for real: a one-node cluster on this machine (`./dev slurm start`). Tests that need it
//! print `SKIPPED ...: <why>` to stderr and return when it is not running.
//!
//! The full submit-run-finish and time-limit-checkpoint-resume tests also need
//! `workbench train --run-dir DIR` / `--resume DIR` (the runs-as-processes work); they skip with a
//! printed reason while `workbench train --help` lacks `--run-dir`.
// Test code may unwrap and panic: a failure names its line (lints: Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use workbench::cluster::poll::Watched;
use workbench::cluster::{self, JobId, JobState, Poller, Scheduler};
use workbench::runs::RunStatus;

fn project(extra_config: &str) -> tempfile::TempDir {
    let dir = tempdir();
    std::fs::create_dir(dir.path().join("datasets")).unwrap();
    // A tiny copy of Iris: the header and 40 rows of two classes.
    let iris = std::fs::read_to_string(shipped_datasets().join("iris.csv")).unwrap();
    let lines: Vec<&str> = iris.lines().collect();
    let tiny: Vec<&str> = lines[..21].iter().chain(&lines[51..71]).copied().collect();
    std::fs::write(dir.path().join("datasets/tiny.csv"), tiny.join("\n") + "\n").unwrap();
    let config = format!("[cluster]\nnode_local_paths = []\n{extra_config}\n");
    std::fs::write(dir.path().join("config.toml"), config).unwrap();
    dir
}

macro_rules! need_slurm {
    ($name:literal) => {
        if let Some(why) = slurm_missing() {
            eprintln!("SKIPPED {}: {why}", $name);
            return;
        }
    };
}

fn run_dir_supported() -> bool {
    let out = Command::new(env!("CARGO_BIN_EXE_workbench")).args(["train", "--help"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).contains("--run-dir")
}

/// Submit; returns the run folder and the job id from the output.
fn submit(dir: &Path, extra: &[&str]) -> (PathBuf, String) {
    let mut args =
        vec!["submit", "--scheduler", "slurm", "--dataset", "tiny", "--device", "cpu", "--threads", "1"];
    args.extend_from_slice(extra);
    let out = workbench_with_path(dir, &args, None);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let job_id =
        stdout.lines().find_map(|l| l.strip_prefix("submitted Slurm job ")).unwrap().trim().to_string();
    let folder = stdout.lines().find_map(|l| l.strip_prefix("run folder: ")).unwrap().trim();
    (PathBuf::from(folder), job_id)
}

/// Poll (at the poller's pace) until `done` says so or `limit` passes; returns every state seen.
fn poll_until(
    poller: &mut Poller,
    dir: &Path,
    job_id: &str,
    limit: Duration,
    done: impl Fn(&JobState, RunStatus) -> bool,
) -> Vec<(JobState, RunStatus)> {
    let deadline = Instant::now() + limit;
    let watched =
        [Watched { job_id: JobId::parse(Scheduler::Slurm, job_id).unwrap(), dir: dir.to_path_buf() }];
    let mut seen = Vec::new();
    loop {
        std::thread::sleep(poller.wait_time(Instant::now()));
        let state = poller.poll(&watched).unwrap().remove(0).1;
        let status = cluster::read_run_meta(dir).unwrap().status;
        seen.push((state.clone(), status));
        if done(&state, status) {
            return seen;
        }
        assert!(Instant::now() < deadline, "gave up after {limit:?}; seen {seen:?}");
    }
}

#[test]
fn dry_run_prints_the_script_and_creates_nothing() {
    let dir = project("");
    let out = workbench_with_path(
        dir.path(),
        &[
            "submit",
            "--scheduler",
            "slurm",
            "--dataset",
            "tiny",
            "--gpus",
            "1",
            "--time",
            "2h",
            "--mem",
            "4G",
            "--partition",
            "gpu",
            "--dry-run",
        ],
        None,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for want in [
        "#SBATCH --gres=gpu:1",
        "#SBATCH --time=02:00:00",
        "#SBATCH --mem=4096M",
        "#SBATCH --partition=gpu",
        "#SBATCH --signal=B:USR1@120",
        "#SBATCH --requeue",
    ] {
        assert!(stdout.contains(want), "missing {want:?}:\n{stdout}");
    }
    assert!(!dir.path().join("runs").exists(), "--dry-run creates nothing");
    // bash can read the script.
    let script = dir.path().join("job.sbatch");
    std::fs::write(&script, stdout.as_bytes()).unwrap();
    assert!(Command::new("bash").arg("-n").arg(&script).status().unwrap().success());
}

#[test]
fn a_missing_sbatch_names_what_to_load() {
    let dir = project("");
    let empty = tempdir();
    let out = workbench_with_path(
        dir.path(),
        &["submit", "--scheduler", "slurm", "--dataset", "tiny"],
        Some(empty.path()),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("sbatch was not found on PATH") && stderr.contains("module load slurm"),
        "{stderr}"
    );
}

#[test]
fn a_runs_folder_on_a_node_local_path_is_refused_when_configured() {
    let dir = project("refuse_node_local = true\nnode_local_paths = [\"/\"]");
    // The [cluster] table above already set node_local_paths: write the file afresh.
    std::fs::write(
        dir.path().join("config.toml"),
        "[cluster]\nrefuse_node_local = true\nnode_local_paths = [\"/\"]\n",
    )
    .unwrap();
    let out = workbench_with_path(dir.path(), &["submit", "--scheduler", "slurm", "--dataset", "tiny"], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("compute nodes can't see it"), "{stderr}");
    assert!(!dir.path().join("runs").exists());
}

#[test]
fn slurm_refusals_quote_sbatch_and_mark_the_run_failed() {
    need_slurm!("slurm_refusals_quote_sbatch_and_mark_the_run_failed");
    let dir = project("");
    let out = workbench_with_path(
        dir.path(),
        &["submit", "--scheduler", "slurm", "--dataset", "tiny", "--partition", "nope"],
        None,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("no partition \"nope\"") && stderr.contains("invalid partition specified: nope"),
        "{stderr}"
    );
    let out = workbench_with_path(
        dir.path(),
        &["submit", "--scheduler", "slurm", "--dataset", "tiny", "--gpus", "1"],
        None,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("can't give 1 GPU(s)")
            && stderr.contains("Invalid generic resource (gres) specification"),
        "{stderr}"
    );
    let runs: Vec<_> =
        std::fs::read_dir(dir.path().join("runs")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(runs.len(), 2);
    for run in runs {
        let meta = cluster::read_run_meta(&run).unwrap();
        assert_eq!(meta.status, RunStatus::Failed);
        assert!(meta.reason.unwrap().contains("Slurm"));
    }
}

#[test]
fn a_job_whose_run_cannot_start_marks_the_queued_run_failed() {
    need_slurm!("a_job_whose_run_cannot_start_marks_the_queued_run_failed");
    let dir = project("binary = \"/nonexistent/workbench\"");
    let (run, job_id) = submit(dir.path(), &["--epochs", "1"]);
    assert_eq!(cluster::read_run_meta(&run).unwrap().status, RunStatus::Queued);
    let job = cluster::job_of(&run).unwrap().unwrap();
    assert_eq!((job.scheduler, job.job_id.as_str()), (Scheduler::Slurm, job_id.as_str()));
    let mut poller = Poller::new(Scheduler::Slurm, Duration::from_secs(10));
    let seen = poll_until(&mut poller, &run, &job_id, Duration::from_secs(90), |s, _| s.is_final());
    let (last, _) = seen.last().unwrap();
    assert!(matches!(last, JobState::Failed { reason } if reason.contains("exit code 127")), "{seen:?}");
    assert!(cluster::reconcile(&run, &job, last).unwrap());
    let meta = cluster::read_run_meta(&run).unwrap();
    assert_eq!(meta.status, RunStatus::Failed);
    assert!(meta
        .reason
        .as_deref()
        .unwrap()
        .contains(&format!("Slurm job {job_id} failed before the run started")));
    let err = std::fs::read_to_string(run.join(format!("slurm-{job_id}.err"))).unwrap();
    assert!(err.contains("/nonexistent/workbench"), "{err}");
}

#[test]
fn cancelling_a_queued_job_stops_the_run() {
    need_slurm!("cancelling_a_queued_job_stops_the_run");
    // Held back for an hour, so it is still queued when cancelled.
    let dir = project("[cluster.slurm]\nextra = [\"--begin=now+1hour\"]");
    let (run, job_id) = submit(dir.path(), &["--epochs", "1"]);
    let mut poller = Poller::new(Scheduler::Slurm, Duration::from_secs(10));
    let watched = [Watched { job_id: JobId::parse(Scheduler::Slurm, &job_id).unwrap(), dir: run.clone() }];
    let state = poller.poll(&watched).unwrap().remove(0).1;
    assert!(matches!(state, JobState::Queued { .. }), "{state:?}");
    cluster::cancel(&run).unwrap();
    let meta = cluster::read_run_meta(&run).unwrap();
    assert_eq!(meta.status, RunStatus::Stopped);
    assert!(meta.reason.unwrap().contains(&format!("cancelled before it started (Slurm job {job_id})")));
    let seen = poll_until(&mut poller, &run, &job_id, Duration::from_secs(60), |s, _| s.is_final());
    assert!(
        matches!(&seen.last().unwrap().0, JobState::Failed { reason } if reason.contains("CANCELLED")),
        "{seen:?}"
    );
    // A folder that is not a cluster run can't be cancelled this way.
    let plain = tempdir();
    assert!(cluster::cancel(plain.path()).unwrap_err().to_string().contains("not a cluster run"));
}

#[test]
fn a_submitted_run_is_queued_then_running_then_finished() {
    need_slurm!("a_submitted_run_is_queued_then_running_then_finished");
    if !run_dir_supported() {
        eprintln!("SKIPPED a_submitted_run_is_queued_then_running_then_finished: `workbench train --help` has no --run-dir yet (runs-as-processes work)");
        return;
    }
    let dir = project("");
    // Long enough (about a minute) to be seen running by a poller that asks every 10 s.
    let (run, job_id) = submit(dir.path(), &["--epochs", "40000", "--batch-size", "8"]);
    let meta = cluster::read_run_meta(&run).unwrap();
    assert_eq!(meta.status, RunStatus::Queued);
    assert_eq!(meta.hyperparameters.epochs, 40000);
    let mut poller = Poller::new(Scheduler::Slurm, Duration::from_secs(10));
    let seen = poll_until(&mut poller, &run, &job_id, Duration::from_secs(300), |s, status| {
        s.is_final() && status != RunStatus::Running
    });
    assert!(
        seen.iter().any(|(s, status)| *s == JobState::Running || *status == RunStatus::Running),
        "never seen running: {seen:?}"
    );
    let meta = cluster::read_run_meta(&run).unwrap();
    assert_eq!(meta.status, RunStatus::Finished, "{seen:?}");
    let metrics = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    assert_eq!(metrics.lines().count(), 40001, "a row per epoch in the run folder");
}

#[test]
fn the_time_limit_signal_leaves_a_checkpoint_that_resumes() {
    need_slurm!("the_time_limit_signal_leaves_a_checkpoint_that_resumes");
    if !run_dir_supported() {
        eprintln!("SKIPPED the_time_limit_signal_leaves_a_checkpoint_that_resumes: `workbench train --help` has no --run-dir/--resume yet (runs-as-processes work)");
        return;
    }
    // One minute of time; USR1 50 s before the end (Slurm sends it up to a minute early), then
    // the script requeues the job, which resumes from the checkpoint.
    let dir = project("[cluster.slurm]\nsignal_before_s = 50\nrequeue = true");
    let (run, job_id) = submit(dir.path(), &["--epochs", "1000000", "--time", "1"]);
    let mut poller = Poller::new(Scheduler::Slurm, Duration::from_secs(10));
    let seen = poll_until(&mut poller, &run, &job_id, Duration::from_secs(150), |_, status| {
        status == RunStatus::Interrupted
    });
    let meta = cluster::read_run_meta(&run).unwrap();
    assert!(
        meta.checkpoint.is_some() && run.join(workbench::runs::CHECKPOINT_FILE).is_file(),
        "{seen:?} {meta:?}"
    );
    let rows =
        |run: &Path| std::fs::read_to_string(run.join("metrics.csv")).map(|t| t.lines().count()).unwrap_or(0);
    let first_rows = rows(&run);
    let out = std::fs::read_to_string(run.join(format!("slurm-{job_id}.out"))).unwrap();
    assert!(out.contains("checkpointed, requeueing"), "{out}");
    // The requeued job starts again (Slurm holds a requeued job for about two minutes) with
    // --resume and goes on from the checkpoint.
    let seen = poll_until(&mut poller, &run, &job_id, Duration::from_secs(300), |_, status| {
        status == RunStatus::Running
    });
    let out = std::fs::read_to_string(run.join(format!("slurm-{job_id}.out"))).unwrap();
    assert!(out.contains("train --resume"), "{out}\n{seen:?}");
    let deadline = Instant::now() + Duration::from_secs(60);
    // The resumed run appends epochs to the same metrics.csv.
    while rows(&run) <= first_rows {
        assert!(Instant::now() < deadline, "no epoch after resuming");
        std::thread::sleep(Duration::from_millis(500));
    }
    let _ = cluster::cancel(&run);
}

/// Stands in for the run process (its contract: `train --run-dir DIR` marks the run running and,
/// on USR1, checkpoints, marks it interrupted and exits 130), so the job script's own part is
/// tested with the scheduler's real signal whatever the state of `--run-dir`.
const STAND_IN_RUN: &str = r#"#!/bin/bash
mode=${@: -2:1}; dir=${@: -1}
echo "stand-in: $mode"
sed -i 's/^status = .*/status = "running"/' "$dir/run.toml"
trap 'echo ckpt > "$dir/model.safetensors"; sed -i "s/^status = .*/status = \"interrupted\"/" "$dir/run.toml"; exit 130' USR1
while :; do sleep 1; done
"#;

#[test]
fn the_job_script_passes_the_time_limit_signal_on_and_requeues() {
    need_slurm!("the_job_script_passes_the_time_limit_signal_on_and_requeues");
    let dir = project("");
    let stand_in = dir.path().join("stand-in-run.sh");
    std::fs::write(&stand_in, STAND_IN_RUN).unwrap();
    std::process::Command::new("chmod").arg("+x").arg(&stand_in).status().unwrap();
    let config = format!(
        "[cluster]\nnode_local_paths = []\nbinary = {:?}\n[cluster.slurm]\nsignal_before_s = 50\nrequeue = true\n",
        stand_in.display().to_string()
    );
    std::fs::write(dir.path().join("config.toml"), config).unwrap();
    // One minute of time, USR1 50 s before its end (Slurm may send it up to a minute early).
    let (run, job_id) = submit(dir.path(), &["--time", "1"]);
    let mut poller = Poller::new(Scheduler::Slurm, Duration::from_secs(10));
    let seen = poll_until(&mut poller, &run, &job_id, Duration::from_secs(120), |state, status| {
        status == RunStatus::Interrupted && matches!(state, JobState::Queued { .. })
    });
    assert!(run.join(workbench::runs::CHECKPOINT_FILE).is_file(), "{seen:?}");
    let out = std::fs::read_to_string(run.join(format!("slurm-{job_id}.out"))).unwrap();
    assert!(out.contains("train --run-dir") && out.contains("checkpointed, requeueing"), "{out}");
    let shown = Command::new("scontrol").args(["show", "job", &job_id]).output().unwrap();
    assert!(String::from_utf8_lossy(&shown.stdout).contains("Restarts=1"));
    // The requeued job would start with --resume (after Slurm's two-minute requeue hold); not
    // waited for here.
    let _ = cluster::cancel(&run);
}

/// The user's own script as a job: `workbench submit ... -- python3 script.py`. It prints
/// metrics; on Slurm's time-limit warning (USR1, passed on by the job script to the run process
/// and by it to the command's process group) it saves and exits 0.
const COMMAND_SCRIPT: &str = r#"
import os, signal, sys, time
def on_usr1(*_):
    print("time limit near: saving", flush=True)
    with open(os.path.join(os.environ["WORKBENCH_RUN_DIR"], "saved.txt"), "w") as f:
        f.write(os.environ.get("CUDA_VISIBLE_DEVICES", "unset"))
    sys.exit(0)
signal.signal(signal.SIGUSR1, on_usr1)
for step in range(1, 100000):
    print(f"step={step} loss={1 / step:.4f}")
    time.sleep(0.2)
"#;

#[test]
fn a_submitted_command_runs_supervised_and_gets_the_time_limit_signal() {
    need_slurm!("a_submitted_command_runs_supervised_and_gets_the_time_limit_signal");
    let dir = project("[cluster.slurm]\nsignal_before_s = 50\n");
    std::fs::write(dir.path().join("script.py"), COMMAND_SCRIPT).unwrap();
    let out = workbench_with_path(
        dir.path(),
        &["submit", "--scheduler", "slurm", "--time", "1", "--", "python3", "script.py"],
        None,
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    let job_id =
        stdout.lines().find_map(|l| l.strip_prefix("submitted Slurm job ")).unwrap().trim().to_string();
    let run = PathBuf::from(stdout.lines().find_map(|l| l.strip_prefix("run folder: ")).unwrap().trim());
    let meta = cluster::read_run_meta(&run).unwrap();
    assert_eq!(meta.kind, workbench::command::RunKind::Command);
    assert_eq!(meta.status, RunStatus::Queued);
    let script = std::fs::read_to_string(run.join("job.sbatch")).unwrap();
    assert!(script.contains("run --run-dir \"$RUN_DIR\"") && script.contains("--no-requeue"), "{script}");
    let mut poller = Poller::new(Scheduler::Slurm, Duration::from_secs(10));
    let seen = poll_until(&mut poller, &run, &job_id, Duration::from_secs(150), |state, status| {
        state.is_final() && status != RunStatus::Running && status != RunStatus::Queued
    });
    let meta = cluster::read_run_meta(&run).unwrap();
    assert_eq!(meta.status, RunStatus::Finished, "{seen:?} {:?}", meta.reason);
    let saved = std::fs::read_to_string(run.join("saved.txt")).expect("the script got USR1 and saved");
    assert_eq!(saved, "", "no GPU asked for: CUDA_VISIBLE_DEVICES is empty");
    let output = std::fs::read_to_string(run.join("output.log")).unwrap();
    assert!(output.contains("time limit near: saving"), "{output}");
    let series = workbench::command::read_command_series(&run, &meta);
    let points = series.get("loss").map(Vec::len).unwrap_or(0);
    assert!(points >= 5, "its printed metrics are in scalars.csv: {points} points");
}
