//! `workbench run`: the user's own command as a run. The commands are plain Python 3 scripts
//! (standard library only) written here: metric lines, the environment, signals, grandchildren,
//! exit codes, out-of-memory messages.
// Test and benchmark code may unwrap and panic: a failure names its line (lints: Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{tempdir, text};
use workbench::command::{read_command_series, RunKind, SCALARS_FILE};
use workbench::runs::{list_runs, load_run, read_meta, FailureKind, RunStatus};

/// A project folder: config.toml (with `extra` appended), runs/ beside it, and `script.py`.
fn project(script: &str, extra: &str) -> tempfile::TempDir {
    let dir = tempdir();
    std::fs::write(dir.path().join("config.toml"), format!("[commands]\nstop_grace_s = 1\n{extra}")).unwrap();
    std::fs::write(dir.path().join("script.py"), script).unwrap();
    dir
}

fn workbench(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_workbench"))
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .env_remove("PYTHONUNBUFFERED")
        .env("XDG_STATE_HOME", dir.join("state"))
        .output()
        .expect("run workbench")
}

/// The one run folder under runs/.
fn only_run(dir: &Path) -> PathBuf {
    let runs = list_runs(&dir.join("runs"));
    assert_eq!(runs.len(), 1, "one run folder");
    runs[0].dir.clone()
}

/// Wait (at most 30 s) until `done` holds.
fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The process's state letter from /proc/PID/stat (`S`, `R`, `T`, `Z`), `None` once it is gone.
fn proc_state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 1..].trim_start().chars().next()
}

/// Every live process whose process group is `pgid` (zombies included), from /proc.
fn group_members(pgid: i32) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return false };
            let Some(close) = stat.rfind(')') else { return false };
            stat[close + 1..].split_whitespace().nth(2).and_then(|g| g.parse::<i32>().ok()) == Some(pgid)
        })
        .collect()
}

const METRICS_SCRIPT: &str = r#"
import json, sys
print(json.dumps({"step": 1, "loss": 0.9, "name": "warmup"}))
print({'loss': 0.5, 'learning_rate': 5e-05, 'epoch': 0.5})
print("epoch 3 step=3 loss=0.25 acc: 0.75")
print("Downloading https://example.com/data: 100%")
print("eta: 0:01:02 at 12:30")
sys.stdout.buffer.write(b"\xff\xfe garbage {'x': [1, 2\n")
print("all done", flush=True)
print("Traceback (most recent call last):", file=sys.stderr)
print("ValueError: the last words", file=sys.stderr)
sys.exit(3)
"#;

#[test]
fn metric_lines_of_each_format_become_points_and_the_exit_code_passes_through() {
    let dir = project(METRICS_SCRIPT, "");
    let out = workbench(dir.path(), &["run", "--device", "cpu", "--", "python3", "script.py"]);
    assert_eq!(out.status.code(), Some(3), "the command's exit code: {}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("all done") && stdout.contains("ValueError: the last words"),
        "shown live: {stdout}"
    );

    let run = only_run(dir.path());
    let record = load_run(&run).unwrap();
    let meta = &record.meta;
    assert_eq!(meta.kind, RunKind::Command);
    assert_eq!(meta.status, RunStatus::Failed);
    assert_eq!(meta.model, "script.py", "named after the script");
    let command = meta.command.as_ref().unwrap();
    assert_eq!(command.argv, ["python3", "script.py"]);
    assert_eq!(command.exit_code, Some(3));
    assert_eq!(command.cwd, dir.path());
    let reason = meta.reason.as_deref().unwrap();
    assert!(
        reason.contains("exited with code 3") && reason.ends_with("ValueError: the last words"),
        "{reason}"
    );
    assert_eq!(meta.failure_kind, None);

    let scalars = std::fs::read_to_string(run.join(SCALARS_FILE)).unwrap();
    assert!(scalars.starts_with("step,epoch,wall_s,tag,value\n"), "{scalars}");
    let series = read_command_series(&run, meta);
    let steps = |tag: &str| series[tag].iter().map(|p| (p.step, p.value)).collect::<Vec<_>>();
    // JSON at its step; the dict at its line (a fractional epoch is no step); free text at step=3.
    assert_eq!(steps("loss"), [(1, 0.9), (2, 0.5), (3, 0.25)]);
    assert_eq!(steps("acc"), [(3, 0.75)]);
    assert_eq!(steps("learning_rate"), [(2, 5e-05)]);
    assert_eq!(series.len(), 3, "no tags from text, URLs, times or garbage: {:?}", series.keys());

    let log = String::from_utf8_lossy(&std::fs::read(run.join("output.log")).unwrap()).into_owned();
    assert!(log.contains("all done") && log.contains("Traceback"), "{log}");
    for file in ["run.toml", "output.log", "scalars.csv", "live.toml", "telemetry.csv", "lock"] {
        assert!(run.join(file).is_file(), "{file} in the run folder");
    }

    // Listed and exported like a TensorBoard run.
    let out = workbench(dir.path(), &["runs", "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list[0]["run_kind"], "command");
    assert_eq!(list[0]["command_line"], "python3 script.py");
    assert_eq!(list[0]["tag_names"], serde_json::json!(["acc", "learning_rate", "loss"]));
    // Its duration is measured, not read from whole-second stamps.
    let elapsed = command.elapsed_s.expect("elapsed_s in run.toml");
    assert!(elapsed > 0.0 && elapsed < 30.0 && elapsed.fract() != 0.0, "{elapsed}");
    assert_eq!(list[0]["duration_s"].as_f64(), Some(elapsed));
    let csv = dir.path().join("out.csv");
    let out = workbench(dir.path(), &["export", &meta.id, "--csv", csv.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let csv = std::fs::read_to_string(csv).unwrap();
    assert!(csv.lines().any(|l| l.contains(",3,") && l.ends_with(",acc,0.75")), "{csv}");
}

const ENV_SCRIPT: &str = r#"
import json, os
keys = ["CUDA_VISIBLE_DEVICES", "WORKBENCH_RUN_DIR", "WORKBENCH_RUN_ID", "PYTHONUNBUFFERED", "WORKBENCH_DETACHED"]
with open(os.path.join(os.environ["WORKBENCH_RUN_DIR"], "env.json"), "w") as f:
    json.dump({k: os.environ.get(k) for k in keys}, f)
"#;

#[test]
fn the_script_sees_its_device_its_run_and_unbuffered_python() {
    let dir = project(ENV_SCRIPT, "");
    let out = workbench(
        dir.path(),
        &["run", "--device", "cpu", "--name", "envcheck", "--", "python3", "script.py"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let run = only_run(dir.path());
    let env: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("env.json")).unwrap()).unwrap();
    assert_eq!(env["CUDA_VISIBLE_DEVICES"], "", "the CPU: no GPU visible");
    assert_eq!(env["WORKBENCH_RUN_DIR"], run.to_str().unwrap());
    assert_eq!(env["WORKBENCH_RUN_ID"], run.file_name().unwrap().to_str().unwrap());
    assert_eq!(env["PYTHONUNBUFFERED"], "1");
    assert_eq!(
        env["WORKBENCH_DETACHED"],
        serde_json::Value::Null,
        "the run process's own marker is not passed on"
    );
    let meta = read_meta(&run).unwrap();
    assert_eq!(meta.status, RunStatus::Finished);
    assert_eq!(meta.model, "envcheck");
    assert_eq!(meta.device, "cpu");
    assert_eq!(meta.command.unwrap().env["CUDA_VISIBLE_DEVICES"], "");
}

/// A script whose grandchild ignores SIGINT and SIGTERM, and which itself cleans up on Ctrl-C.
const STOP_SCRIPT: &str = r#"
import os, subprocess, sys, time
d = os.environ["WORKBENCH_RUN_DIR"]
child = subprocess.Popen([sys.executable, "-c",
    "import signal, time\n"
    "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "time.sleep(600)\n"])
with open(os.path.join(d, "pids"), "w") as f:
    f.write(f"{os.getpid()} {child.pid}\n")
try:
    step = 0
    while True:
        step += 1
        print(f"step={step} loss={1.0 / step}")
        time.sleep(0.05)
except KeyboardInterrupt:
    with open(os.path.join(d, "cleaned"), "w") as f:
        f.write("finally ran\n")
    child.wait()
"#;

fn start_detached(dir: &Path) -> (PathBuf, i32, i32) {
    let out = workbench(dir, &["run", "--device", "cpu", "--detach", "--", "python3", "script.py"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let run = only_run(dir);
    wait_for("the script's pids", || {
        std::fs::read_to_string(run.join("pids")).is_ok_and(|t| t.ends_with('\n'))
    });
    let pids = std::fs::read_to_string(run.join("pids")).unwrap();
    let mut it = pids.split_whitespace().map(|p| p.parse::<i32>().unwrap());
    (run, it.next().unwrap(), it.next().unwrap())
}

#[test]
fn stop_ends_the_whole_group_even_a_grandchild_that_ignores_sigint() {
    let dir = project(STOP_SCRIPT, "");
    let (run, leader, grandchild) = start_detached(dir.path());
    wait_for("running", || read_meta(&run).unwrap().status == RunStatus::Running);
    assert!(group_members(leader).contains(&grandchild), "the grandchild is in the command's group");
    let id = run.file_name().unwrap().to_str().unwrap().to_string();
    let out = workbench(dir.path(), &["stop", &id]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("SIGINT"), "{}", text(&out.stdout));
    wait_for("stopped", || read_meta(&run).unwrap().status == RunStatus::Stopped);
    assert_eq!(std::fs::read_to_string(run.join("cleaned")).unwrap(), "finally ran\n", "the handler ran");
    assert_eq!(group_members(leader), Vec::<i32>::new(), "nothing of the group is left");
    assert_eq!(proc_state(grandchild), None, "the grandchild is gone");
    let meta = read_meta(&run).unwrap();
    assert_eq!(meta.reason.as_deref(), Some("stopped by the user"));
    let points = read_command_series(&run, &meta);
    assert!(!points["loss"].is_empty(), "its points were kept");
}

#[test]
fn pause_stops_every_process_of_the_group_and_resume_lets_them_go_on() {
    let dir = project(STOP_SCRIPT, "");
    let (run, leader, grandchild) = start_detached(dir.path());
    wait_for("running", || read_meta(&run).unwrap().status == RunStatus::Running);
    let id = run.file_name().unwrap().to_str().unwrap().to_string();
    assert!(workbench(dir.path(), &["pause", &id]).status.success());
    wait_for("both stopped (T)", || proc_state(leader) == Some('T') && proc_state(grandchild) == Some('T'));
    wait_for("paused in run.toml", || read_meta(&run).unwrap().status == RunStatus::Paused);
    assert!(workbench(dir.path(), &["resume", &id]).status.success());
    wait_for("going again", || proc_state(leader).is_some_and(|s| s != 'T'));
    wait_for("running in run.toml", || read_meta(&run).unwrap().status == RunStatus::Running);
    // A paused run stops too.
    assert!(workbench(dir.path(), &["pause", &id]).status.success());
    wait_for("paused", || proc_state(leader) == Some('T'));
    assert!(workbench(dir.path(), &["stop", &id]).status.success());
    wait_for("stopped", || read_meta(&run).unwrap().status == RunStatus::Stopped);
    assert_eq!(group_members(leader), Vec::<i32>::new());
    let out = workbench(dir.path(), &["move", &id, "--device", "cpu"]);
    assert!(!out.status.success());
}

#[test]
fn a_command_run_refuses_to_move_with_the_reason() {
    let dir = project(STOP_SCRIPT, "");
    let (run, leader, _) = start_detached(dir.path());
    wait_for("running", || read_meta(&run).unwrap().status == RunStatus::Running);
    let id = run.file_name().unwrap().to_str().unwrap().to_string();
    let out = workbench(dir.path(), &["move", &id, "--device", "cpu"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("can't move"), "{}", text(&out.stderr));
    assert!(workbench(dir.path(), &["stop", &id]).status.success());
    wait_for("stopped", || read_meta(&run).unwrap().status == RunStatus::Stopped);
    assert_eq!(group_members(leader), Vec::<i32>::new());
}

#[test]
fn an_out_of_memory_message_gives_its_failure_kind() {
    let script = "import sys\nprint('torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 20.00 GiB', file=sys.stderr)\nsys.exit(1)\n";
    let dir = project(script, "");
    let out = workbench(dir.path(), &["run", "--device", "cpu", "--", "python3", "script.py"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("(out_of_memory)"), "{}", text(&out.stderr));
    let meta = read_meta(&only_run(dir.path())).unwrap();
    assert_eq!(meta.failure_kind, Some(FailureKind::OutOfMemory));
    assert!(meta.reason.unwrap().contains("CUDA out of memory"));
}

#[test]
fn a_command_killed_by_a_signal_says_which() {
    let dir = project("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n", "");
    let out = workbench(dir.path(), &["run", "--device", "cpu", "--", "python3", "script.py"]);
    assert_eq!(out.status.code(), Some(137), "128 + 9, as a shell says");
    let meta = read_meta(&only_run(dir.path())).unwrap();
    assert_eq!(meta.status, RunStatus::Failed);
    assert_eq!(meta.command.unwrap().signal.as_deref(), Some("SIGKILL"));
    assert!(meta.reason.unwrap().contains("killed by SIGKILL"));
}

#[test]
fn a_command_that_cant_start_is_refused_with_the_path_and_leaves_no_folder() {
    let dir = project("", "");
    let out = workbench(dir.path(), &["run", "--", "surely-no-such-program-here", "--x"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("surely-no-such-program-here") && err.contains("PATH="), "{err}");
    let out = workbench(dir.path(), &["run", "--", "./script.py"]);
    assert!(text(&out.stderr).contains("no execute permission"), "{}", text(&out.stderr));
    let runs = dir.path().join("runs");
    let left = std::fs::read_dir(&runs).map(|r| r.count()).unwrap_or(0);
    assert_eq!(left, 0, "no run folder left behind");
}

#[test]
fn a_commands_entry_runs_with_its_params_and_is_listed_as_a_model() {
    let script = "import sys\nprint(f'lr={sys.argv[2]} epochs_seen={sys.argv[4]}')\n";
    let entry = "[commands.tiny]\nrun = [\"python3\", \"script.py\", \"--lr\", \"{lr}\", \"--epochs\", \"{epochs}\"]\n\
                 [commands.tiny.params]\nlr = 0.01\nepochs = 10\n";
    let dir = project(script, entry);
    let out = workbench(dir.path(), &["run", "tiny", "--device", "cpu", "--param", "lr=0.5"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("lr=0.5 epochs_seen=10"), "{}", text(&out.stdout));
    let meta = read_meta(&only_run(dir.path())).unwrap();
    let command = meta.command.unwrap();
    assert_eq!(command.name.as_deref(), Some("tiny"));
    assert_eq!(command.params["lr"], "0.5");
    assert_eq!(meta.model, "tiny");
    let out = workbench(dir.path(), &["models"]);
    let listing = text(&out.stdout);
    assert!(
        listing.contains("tiny") && listing.contains("$ python3 script.py --lr {lr} --epochs {epochs}"),
        "{listing}"
    );
    let out = workbench(dir.path(), &["run", "tiny", "--param", "lx=1"]);
    assert!(text(&out.stderr).contains("no param `lx`"), "{}", text(&out.stderr));

    // A placeholder without its param is an error naming both, when the config loads.
    let dir = project(script, "[commands.bad]\nrun = [\"python3\", \"{lr}\"]\n");
    let out = workbench(dir.path(), &["runs"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("{lr}") && err.contains("[commands.bad.params]"), "{err}");
}

#[test]
fn the_commit_and_a_dirty_trees_diff_are_kept() {
    let dir = project("print('loss=1')\n", "");
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(dir.path())
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    };
    if !git(&["init", "-q"]) {
        eprintln!("skipped: git is not installed");
        return;
    }
    assert!(git(&["-c", "user.email=t@t", "-c", "user.name=t", "add", "script.py"]));
    assert!(git(&["-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "one"]));
    std::fs::write(dir.path().join("script.py"), "print('loss=2')\n").unwrap();
    let out = workbench(dir.path(), &["run", "--device", "cpu", "--", "python3", "script.py"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let run = only_run(dir.path());
    let command = read_meta(&run).unwrap().command.unwrap();
    assert_eq!(command.git_commit.as_ref().map(String::len), Some(40));
    assert_eq!(command.git_dirty, Some(true));
    let diff = std::fs::read_to_string(run.join("code.diff")).unwrap();
    assert!(diff.contains("+print('loss=2')"), "{diff}");
}

#[test]
fn every_line_of_a_fast_printer_reaches_scalars_csv() {
    let script = "import sys\nw = sys.stdout.write\nfor i in range(1, 50001):\n    w(f'step={i} loss={1.0/i:.6f}\\n')\n";
    let dir = project(script, "");
    let out = workbench(dir.path(), &["run", "--device", "cpu", "--", "python3", "script.py"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let run = only_run(dir.path());
    let series = read_command_series(&run, &read_meta(&run).unwrap());
    assert_eq!(series["loss"].len(), 50_000);
    assert_eq!(series["loss"].last().unwrap().step, 50_000);
}
