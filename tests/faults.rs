//! Fault injection: eight Iris runs at once, each its own process, with the TUI open on their
//! runs folder in tmux; `kill -9` of some of them, chosen by a seeded generator (the seed is
//! printed; `WORKBENCH_FAULTS_SEED=N` repeats it); and the runs folder on a 4 MiB tmpfs that is
//! filled up mid-way (the runs still going are paused meanwhile, then go on into the full disk).
//! Afterwards every run is finished, interrupted or failed with a reason (`failure_kind = "disk"`
//! for the full disk), every folder still reads (`workbench runs --json` lists each),
//! `workbench train --resume` finishes every run that did not end by itself with the curve of a
//! run never interrupted, and the TUI is still drawing.
//!
//! Mounting a tmpfs needs root: where it can't be mounted, the full disk is skipped with the
//! reason printed, and so is the TUI where tmux is missing; the kills and resumes always run.
// Test and benchmark code may unwrap and panic: a failure names its line (lints: Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use common::tmux::{tmux_missing, Tmux};
use common::*;
use workbench::config::Settings;
use workbench::runs::{list_runs, load_run, send_control, ControlCommand, EpochRow, FailureKind, RunStatus};
use workbench::train::{create_queued_run, spawn_detached, Launcher, TrainSpec};

/// Runs trained at once.
const RUNS: usize = 8;
/// Runs killed with SIGKILL while they train.
const KILLS: usize = 3;
/// Epochs of each run (8 steps each): long enough to be caught mid-way, short enough for the
/// whole test to stay well under three minutes.
const EPOCHS: u32 = 400;
/// How close a resumed run's losses must come to those of a run never interrupted.
const SAME_LOSS: f64 = 1e-6;

/// Print past the test harness's capture, so it shows whether the test passes or not.
fn say(text: &str) {
    let _ = writeln!(std::io::stderr(), "faults: {text}");
}

/// xorshift64*: a few random numbers from a printed seed, with nothing to install.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
    }
}

fn seed() -> u64 {
    std::env::var("WORKBENCH_FAULTS_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
    }) | 1
}

/// A tmpfs mounted on a folder; unmounted when dropped (lazily, should a process still hold a
/// file there).
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Result<Tmpfs, String> {
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        Ok(Tmpfs(dir.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// A project folder: the Iris data and the shipped config with short, single-threaded runs.
fn project() -> (tempfile::TempDir, Settings) {
    let dir = tempdir();
    std::fs::create_dir(dir.path().join("datasets")).unwrap();
    std::fs::copy(shipped_datasets().join("iris.csv"), dir.path().join("datasets/iris.csv")).unwrap();
    let config = std::fs::read_to_string(repo().join("config.toml"))
        .unwrap()
        .replace("epochs = 100", &format!("epochs = {EPOCHS}"))
        .replace("threads = 0 ", "threads = 1 ");
    let path = dir.path().join("config.toml");
    std::fs::write(&path, config).unwrap();
    let file = workbench::config::parse_config(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let mut settings = Settings::from_file(file, dir.path(), Some(path));
    settings.cache_dir = dir.path().join("cache");
    (dir, settings)
}

fn launcher(settings: &Settings, runs_dir: &Path) -> Launcher {
    Launcher {
        exe: PathBuf::from(env!("CARGO_BIN_EXE_workbench")),
        config: settings.config_path.clone(),
        datasets_dir: settings.datasets_dir.clone(),
        runs_dir: runs_dir.to_path_buf(),
        cache_dir: settings.cache_dir.clone(),
    }
}

/// `workbench` with the project's config and folders, and `runs_dir` as its runs folder.
fn workbench(settings: &Settings, runs_dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_workbench"));
    cmd.arg("--config").arg(settings.config_path.as_ref().unwrap());
    cmd.arg("--datasets-dir").arg(&settings.datasets_dir);
    cmd.arg("--cache-dir").arg(&settings.cache_dir);
    cmd.arg("--runs-dir").arg(runs_dir);
    cmd
}

fn status(dir: &Path) -> Option<RunStatus> {
    let runs = list_runs(dir.parent().unwrap());
    runs.into_iter().find(|i| i.dir == dir).and_then(|i| i.effective_status())
}

fn epochs(dir: &Path) -> Vec<EpochRow> {
    load_run(dir).map(|r| r.epochs).unwrap_or_default()
}

fn ended(dir: &Path) -> bool {
    !matches!(status(dir), None | Some(RunStatus::Queued | RunStatus::Running | RunStatus::Paused))
}

fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "waited {timeout:?} for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Write zeros to `path` until the disk refuses more; returns how many bytes went in.
fn fill_up(path: &Path) -> u64 {
    let mut file = std::fs::File::create(path).unwrap();
    let page = [0u8; 4096];
    let mut written = 0;
    while let Ok(n @ 1..) = file.write(&page) {
        written += n as u64;
    }
    written
}

fn wait_all(children: Vec<(PathBuf, Child)>) {
    for (dir, child) in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "train --resume {}: {}{}",
            dir.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn assert_same_losses(dir: &Path, reference: &[EpochRow]) {
    let rows = epochs(dir);
    assert_eq!(rows.len(), reference.len(), "{}: one row per epoch", dir.display());
    for (row, want) in rows.iter().zip(reference) {
        assert_eq!(row.epoch, want.epoch, "{}", dir.display());
        assert!(
            (row.train_loss - want.train_loss).abs() < SAME_LOSS,
            "{} epoch {}: train_loss {} where the uninterrupted run has {}",
            dir.display(),
            row.epoch,
            row.train_loss,
            want.train_loss
        );
        let (got, want_val) = (row.val_loss.unwrap(), want.val_loss.unwrap());
        assert!((got - want_val).abs() < SAME_LOSS, "{} epoch {}: val_loss", dir.display(), row.epoch);
    }
}

#[test]
fn runs_killed_and_out_of_disk_end_readable_and_resume_to_the_uninterrupted_curve() {
    let started = Instant::now();
    let seed = seed();
    say(&format!("seed {seed} (WORKBENCH_FAULTS_SEED={seed} repeats the same kills)"));
    let mut rng = Rng(seed);
    let (project, settings) = project();
    let runs_dir = project.path().join("runs");
    std::fs::create_dir(&runs_dir).unwrap();
    let tmpfs = match Tmpfs::mount(&runs_dir, "4m") {
        Ok(t) => Some(t),
        Err(why) => {
            say(&format!(
                "SKIPPED the full disk: no 4 MiB tmpfs could be mounted on the runs folder ({why})"
            ));
            None
        }
    };
    let reference_dir = project.path().join("reference");
    let _stop_runs = StopRunsOnDrop(runs_dir.clone());
    let _stop_reference = StopRunsOnDrop(reference_dir.clone());

    let tui = if tmux_missing("faults") {
        None
    } else {
        let cmd = format!(
            "{} --runs-dir {}; echo WORKBENCH_EXIT=$?; sleep 60",
            env!("CARGO_BIN_EXE_workbench"),
            runs_dir.display()
        );
        let tmux = Tmux::start(&cmd, 120, 40, project.path());
        tmux.wait_for("Preview: iris", Duration::from_secs(30));
        Some(tmux)
    };

    // The eight runs, and one more in another folder that nothing disturbs: the reference curve.
    let mut spec = TrainSpec::from_config("iris", &settings.train);
    spec.device = "cpu".into();
    let (_, reference) = create_queued_run(&reference_dir, &spec, "cpu").unwrap();
    spawn_detached(&reference, false, &launcher(&settings, &reference_dir)).unwrap();
    let runs: Vec<(PathBuf, u32)> = (0..RUNS)
        .map(|_| {
            let (_, dir) = create_queued_run(&runs_dir, &spec, "cpu").unwrap();
            let pid = spawn_detached(&dir, false, &launcher(&settings, &runs_dir)).unwrap();
            (dir, pid)
        })
        .collect();
    wait_until("every run's first epoch", Duration::from_secs(90), || {
        runs.iter().all(|(dir, _)| !epochs(dir).is_empty() || ended(dir))
    });
    let pane_before = tui.as_ref().map(Tmux::pane);

    // kill -9, mid-run.
    let mut killed = Vec::new();
    while killed.len() < KILLS {
        let i = rng.below(RUNS);
        if !killed.contains(&i) {
            killed.push(i);
        }
    }
    for &i in &killed {
        let (dir, pid) = &runs[i];
        if status(dir) == Some(RunStatus::Running) {
            say(&format!("kill -9 run {i} (pid {pid}) after {} epochs", epochs(dir).len()));
            unsafe { libc::kill(*pid as i32, libc::SIGKILL) };
        }
    }

    // The disk fills up under the runs still going. They are paused meanwhile, so that each
    // meets the full disk however fast this machine trains them.
    let going: Vec<&PathBuf> = runs.iter().map(|(dir, _)| dir).filter(|dir| !ended(dir)).collect();
    for dir in &going {
        let _ = send_control(dir, ControlCommand::Pause); // refused only for a run that just ended
    }
    wait_until("the runs going to pause", Duration::from_secs(30), || {
        going.iter().all(|dir| ended(dir) || status(dir) == Some(RunStatus::Paused))
    });
    let filler = runs_dir.join("filler");
    if tmpfs.is_some() {
        let bytes = fill_up(&filler);
        say(&format!("the runs folder's disk is full ({bytes} bytes of filler)"));
    }
    for dir in &going {
        // The control file's page has room for a line more, even now.
        let _ = send_control(dir, ControlCommand::Resume);
    }
    wait_until("every run to end", Duration::from_secs(90), || runs.iter().all(|(dir, _)| ended(dir)));

    // Every run ended in a way a user can read, with a reason when it failed.
    let mut disk_failures = 0;
    for (i, (dir, _)) in runs.iter().enumerate() {
        let record = load_run(dir).unwrap_or_else(|e| panic!("run {i}'s folder reads: {e}"));
        let status = status(dir).unwrap();
        say(&format!("run {i}: {} after {} epochs", status.as_str(), record.epochs.len()));
        match status {
            RunStatus::Finished | RunStatus::Interrupted => {}
            RunStatus::Failed => {
                let reason = record.meta.reason.clone().unwrap_or_default();
                assert_eq!(record.meta.failure_kind, Some(FailureKind::Disk), "run {i}: {reason}");
                assert!(reason.contains("No space left on device"), "run {i}: {reason}");
                disk_failures += 1;
            }
            other => panic!("run {i} is {}", other.as_str()),
        }
    }
    if tmpfs.is_some() {
        assert!(disk_failures > 0, "the full disk failed no run: make the runs longer");
    }
    let out = workbench(&settings, &runs_dir).args(["runs", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("runs --json parses");
    for (dir, _) in &runs {
        let id = dir.file_name().unwrap().to_str().unwrap();
        let entry = listed.as_array().unwrap().iter().find(|r| r["id"] == id);
        let entry = entry.unwrap_or_else(|| panic!("{id} is listed: {listed}"));
        assert!(entry.get("problem").is_none(), "{entry}");
    }

    // The TUI lived through it all and shows every run.
    if let (Some(tmux), Some(before)) = (&tui, pane_before) {
        tmux.keys(&["Tab", "Tab", "Tab"]);
        let pane = tmux.wait_for(&format!("Runs ({RUNS})"), Duration::from_secs(10));
        assert!(!pane.contains("WORKBENCH_EXIT"), "{pane}");
        assert_ne!(pane, before, "the screen follows the runs");
    }

    // With room again, every run that did not end by itself goes on to the end, on the curve of
    // the run nothing disturbed.
    let _ = std::fs::remove_file(&filler);
    let resumable: Vec<&PathBuf> =
        runs.iter().map(|(dir, _)| dir).filter(|dir| status(dir) != Some(RunStatus::Finished)).collect();
    let children = resumable
        .iter()
        .map(|dir| {
            let child = workbench(&settings, &runs_dir)
                .arg("train")
                .arg("--resume")
                .arg(dir)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            ((*dir).clone(), child)
        })
        .collect();
    wait_all(children);
    wait_until("the reference run", Duration::from_secs(60), || ended(&reference));
    assert_eq!(status(&reference), Some(RunStatus::Finished));
    let reference = epochs(&reference);
    assert_eq!(reference.len(), EPOCHS as usize);
    for (dir, _) in &runs {
        assert_eq!(status(dir), Some(RunStatus::Finished), "{}", dir.display());
        assert_same_losses(dir, &reference);
    }
    say(&format!("{} runs resumed; took {:.0?}", resumable.len(), started.elapsed()));
}
