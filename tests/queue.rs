//! The queue, dispatching for real on the CPU: `cpu_slots = 2` and six queued Iris runs (never
//! more than two running at once, all six finish, higher priority first); `kill -9` of the
//! dispatcher mid-queue, then `workbench queue start`: every run ran exactly once. Also the
//! refusals at queue time, `stop` and `queue top` of a queued run, and a corrupt `[queue]` table
//! that holds no other run. GPU packing is tested through the pure decision (src/queue/decide.rs).
// Test and benchmark code may unwrap and panic: a failure names its line (lints: Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{repo, tempdir, text, workbench};
use workbench::queue::dispatch::{dispatcher_pid, QueueLock};
use workbench::runs::{list_runs, read_meta, RunStatus};

/// A project: Iris in datasets/, `[queue] cpu_slots = 2`, one CPU thread per run.
fn project() -> tempfile::TempDir {
    let dir = tempdir();
    std::fs::create_dir_all(dir.path().join("datasets")).unwrap();
    std::fs::copy(repo().join("datasets/iris.csv"), dir.path().join("datasets/iris.csv")).unwrap();
    std::fs::write(dir.path().join("config.toml"), "[train]\nthreads = 1\n\n[queue]\ncpu_slots = 2\n")
        .unwrap();
    dir
}

/// Queue an Iris run of `epochs` with `priority`; returns its id.
fn queue_iris(dir: &Path, epochs: u32, priority: i32) -> String {
    let out = workbench(
        dir,
        &[
            "train",
            "--dataset",
            "iris",
            "--device",
            "cpu",
            "--epochs",
            &epochs.to_string(),
            "--queue",
            "--priority",
            &priority.to_string(),
        ],
    );
    assert!(out.status.success(), "queueing failed: {}", text(&out.stderr));
    let stdout = text(&out.stdout);
    stdout.lines().find_map(|l| l.strip_prefix("queued ")).expect("the id").trim().to_string()
}

fn run_dirs(dir: &Path) -> Vec<PathBuf> {
    list_runs(&dir.join("runs")).into_iter().map(|r| r.dir).collect()
}

fn statuses(dir: &Path) -> Vec<RunStatus> {
    run_dirs(dir).iter().filter_map(|d| read_meta(d).ok()).map(|m| m.status).collect()
}

/// `workbench queue start` as a child of the test (not detached: the test may kill it).
fn start_dispatcher(dir: &Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_workbench"))
        .args(["queue", "start"])
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .env("XDG_STATE_HOME", dir.join("state"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Sample the run folders' statuses until every run ended (at most `limit`); returns the most
/// seen running at once.
fn watch_until_all_ended(dir: &Path, limit: Duration) -> usize {
    let deadline = Instant::now() + limit;
    let mut most = 0;
    loop {
        let now = statuses(dir);
        most = most.max(now.iter().filter(|s| matches!(s, RunStatus::Running | RunStatus::Paused)).count());
        if now.iter().all(|s| !matches!(s, RunStatus::Queued | RunStatus::Running | RunStatus::Paused)) {
            return most;
        }
        assert!(Instant::now() < deadline, "runs still going after {limit:?}: {now:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// How many times the run in `dir` was started: the run process's first line, once per start.
fn starts(dir: &Path) -> usize {
    let log = std::fs::read_to_string(dir.join("output.log")).unwrap_or_default();
    log.lines().filter(|l| l.starts_with("training ")).count()
}

#[test]
fn six_runs_on_two_cpu_slots_never_more_than_two_at_once_and_by_priority() {
    let project = project();
    let dir = project.path();
    // Hold the dispatcher's lock while queueing, so that all six wait before any starts.
    let lock = QueueLock::acquire(&dir.join("runs")).unwrap();
    let priorities = [0, 0, 1, 1, 2, 2];
    let ids: Vec<String> = priorities.iter().map(|p| queue_iris(dir, 15, *p)).collect();
    assert!(statuses(dir).iter().all(|s| *s == RunStatus::Queued), "nothing starts while queued");
    let listing = text(&workbench(dir, &["queue"]).stdout);
    assert!(listing.starts_with("queued 6, starting 0, running 0"), "{listing}");
    drop(lock);
    let mut dispatcher = start_dispatcher(dir);
    let most = watch_until_all_ended(dir, Duration::from_secs(120));
    assert!(most <= 2, "{most} runs ran at once on 2 CPU slots");
    assert!(most >= 1);
    let status = dispatcher.wait().unwrap();
    assert!(status.success(), "the dispatcher exits when the queue is empty");
    // Every run finished, and they were taken in priority order, first come first within one.
    let mut taken: Vec<(String, i32, usize)> = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let meta = read_meta(&dir.join("runs").join(id)).unwrap();
        assert_eq!(meta.status, RunStatus::Finished, "{id}: {:?}", meta.reason);
        let q = meta.queue.unwrap();
        assert_eq!(q.started_on.as_deref(), Some("cpu"));
        taken.push((q.taken_at.unwrap(), priorities[i], i));
    }
    taken.sort();
    let order: Vec<(i32, usize)> = taken.iter().map(|(_, p, i)| (*p, *i)).collect();
    let mut expected = order.clone();
    expected.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    assert_eq!(order, expected, "taken by priority, then first come");
    assert_eq!(dispatcher_pid(&dir.join("runs")), None);
}

#[test]
fn a_killed_dispatcher_loses_nothing_and_starts_nothing_twice() {
    let project = project();
    let dir = project.path();
    let lock = QueueLock::acquire(&dir.join("runs")).unwrap();
    let ids: Vec<String> = (0..6).map(|_| queue_iris(dir, 40, 0)).collect();
    drop(lock);
    let mut dispatcher = start_dispatcher(dir);
    // Mid-queue: some runs started, some still waiting.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !statuses(dir).contains(&RunStatus::Running) {
        assert!(Instant::now() < deadline, "nothing started");
        std::thread::sleep(Duration::from_millis(10));
    }
    dispatcher.kill().unwrap();
    dispatcher.wait().unwrap();
    let left = statuses(dir).iter().filter(|s| **s == RunStatus::Queued).count();
    assert!(left > 0, "the kill came mid-queue");
    let out = workbench(dir, &["queue", "start"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    watch_until_all_ended(dir, Duration::from_secs(120));
    for id in &ids {
        let run = dir.join("runs").join(id);
        let meta = read_meta(&run).unwrap();
        assert_eq!(meta.status, RunStatus::Finished, "{id}: {:?}", meta.reason);
        assert_eq!(starts(&run), 1, "{id} ran exactly once");
    }
}

#[test]
fn requests_no_device_here_can_meet_are_refused_and_leave_nothing() {
    let project = project();
    let dir = project.path();
    // Refused on every machine: no GPU here, or none with 195 TiB.
    let out =
        workbench(dir, &["run", "--queue", "--device", "any-gpu", "--gpu-mem", "200000G", "--", "true"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("cannot queue the run:"), "{err}");
    assert!(err.contains("no usable GPU") || err.contains("more than the largest GPU"), "{err}");
    let out = workbench(dir, &["run", "--queue", "--device", "cuda:97", "--", "true"]);
    let err = text(&out.stderr);
    assert!(err.contains("cuda:97 is not on this machine; the devices here are cpu"), "{err}");
    let out = workbench(dir, &["run", "--queue", "--gpu-mem", "lots", "--", "true"]);
    assert!(text(&out.stderr).contains("--gpu-mem \"lots\" is not a size"), "{}", text(&out.stderr));
    assert!(run_dirs(dir).is_empty(), "a refused run leaves no folder");
}

#[test]
fn a_queued_run_can_be_stopped_or_moved_to_the_front_and_a_corrupt_one_holds_no_other() {
    let project = project();
    let dir = project.path();
    let lock = QueueLock::acquire(&dir.join("runs")).unwrap();
    let first = queue_iris(dir, 5, 0);
    let second = queue_iris(dir, 5, 0);
    let third = queue_iris(dir, 5, 0);
    let out = workbench(dir, &["queue", "top", &third]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value =
        serde_json::from_slice(&workbench(dir, &["queue", "--json"]).stdout).unwrap();
    assert_eq!(json["queued"][0]["id"], third.as_str(), "{json}");
    assert_eq!(json["queued"][0]["position"], 1);
    let out = workbench(dir, &["stop", &first]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(read_meta(&dir.join("runs").join(&first)).unwrap().status, RunStatus::Stopped);
    // A [queue] table that doesn't read: that run is a problem; the other still runs.
    let bad = dir.join("runs").join(&third).join("run.toml");
    let text_before = std::fs::read_to_string(&bad).unwrap();
    std::fs::write(&bad, text_before.replace("priority = 0", "priority = \"high\"")).unwrap();
    let listing = text(&workbench(dir, &["queue"]).stdout);
    assert!(listing.contains(&format!("problem: {third}")), "{listing}");
    drop(lock);
    let out = workbench(dir, &["queue", "start"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    watch_until_all_ended(dir, Duration::from_secs(60));
    assert_eq!(read_meta(&dir.join("runs").join(&second)).unwrap().status, RunStatus::Finished);
    assert_eq!(
        read_meta(&dir.join("runs").join(&first)).unwrap().status,
        RunStatus::Stopped,
        "stopped stays"
    );
}

/// The TUI: `Q` queues what the form describes; the runs pane counts the queued runs and shows
/// the focused one's reason to wait; once nobody holds the queue lock, the TUI starts a
/// dispatcher and the runs finish.
#[test]
fn the_tui_queues_with_shift_q_and_shows_why_a_run_waits() {
    if common::tmux::tmux_missing("queue") {
        return;
    }
    let project = project();
    let dir = project.path();
    std::fs::write(dir.join("config.toml"), "[train]\nthreads = 1\nepochs = 5\n\n[queue]\ncpu_slots = 1\n")
        .unwrap();
    let lock = QueueLock::acquire(&dir.join("runs")).unwrap();
    let cmd = format!("{}; sleep 60", env!("CARGO_BIN_EXE_workbench"));
    let tmux = common::tmux::Tmux::start_with_env(
        &cmd,
        160,
        45,
        dir,
        &[&format!("XDG_STATE_HOME={}", dir.join("state").display())],
    );
    tmux.wait_for("Preview: iris", Duration::from_secs(30));
    tmux.wait_for("CPU  ", Duration::from_secs(30));
    tmux.keys(&["Q"]);
    tmux.wait_for(", queued 1", Duration::from_secs(15));
    tmux.keys(&["Q", "o"]);
    tmux.wait_for("queued 2 ", Duration::from_secs(15));
    let pane = tmux.wait_for("waits for a CPU slot: 1 of 1 in use", Duration::from_secs(15));
    assert!(pane.contains("queued (#2)"), "the focused run's place in the queue:\n{pane}");
    assert!(statuses(dir).iter().all(|s| *s == RunStatus::Queued), "nothing started while the lock is held");
    drop(lock);
    watch_until_all_ended(dir, Duration::from_secs(60));
    assert_eq!(statuses(dir), [RunStatus::Finished, RunStatus::Finished], "the TUI's dispatcher ran both");
}

/// `workbench run --queue -- COMMAND`: a command run waits in the queue like a train run; the
/// dispatcher writes its device into run.toml, so the command sees `CUDA_VISIBLE_DEVICES` for it.
#[test]
fn a_queued_command_run_gets_its_device_from_the_queue() {
    let project = project();
    let dir = project.path();
    let lock = QueueLock::acquire(&dir.join("runs")).unwrap();
    let script = "echo \"visible=[$CUDA_VISIBLE_DEVICES]\"; echo loss=0.5";
    let out =
        workbench(dir, &["run", "--queue", "--device", "cpu", "--name", "echo", "--", "sh", "-c", script]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let run = run_dirs(dir).remove(0);
    let meta = read_meta(&run).unwrap();
    assert_eq!((meta.status, meta.device.as_str()), (RunStatus::Queued, "cpu"));
    drop(lock);
    let out = workbench(dir, &["queue", "start"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    watch_until_all_ended(dir, Duration::from_secs(30));
    let meta = read_meta(&run).unwrap();
    assert_eq!(meta.status, RunStatus::Finished, "{:?}", meta.reason);
    let log = std::fs::read_to_string(run.join("output.log")).unwrap();
    assert!(log.contains("visible=[]"), "the CPU hides the GPUs: {log}");
}

/// A queued run that runs out of memory within its first minute goes back to the front of the
/// queue once, marked to run alone, and says so; the second time it stays failed.
#[test]
fn an_early_out_of_memory_is_requeued_once_to_run_alone() {
    let project = project();
    let dir = project.path();
    let lock = QueueLock::acquire(&dir.join("runs")).unwrap();
    let script =
        "echo attempt; echo 'RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB' >&2; exit 1";
    let out =
        workbench(dir, &["run", "--queue", "--device", "cpu", "--name", "oom", "--", "sh", "-c", script]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    drop(lock);
    // In the foreground, the dispatcher's log is its stdout.
    let out = workbench(dir, &["queue", "start"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let log = text(&out.stdout);
    watch_until_all_ended(dir, Duration::from_secs(30));
    let run = run_dirs(dir).remove(0);
    let meta = read_meta(&run).unwrap();
    assert_eq!(meta.status, RunStatus::Failed);
    assert_eq!(meta.failure_kind, Some(workbench::runs::FailureKind::OutOfMemory));
    let q = meta.queue.unwrap();
    assert!(q.requeued && q.alone, "requeued once, to run alone: {q:?}");
    let output = std::fs::read_to_string(run.join("output.log")).unwrap();
    assert_eq!(output.matches("attempt").count(), 2, "it ran twice, not more:\n{output}");
    assert!(log.contains("ran out of memory in its first minute: back at the front of the queue"), "{log}");
}
