//! The TUI's submit choice (`S`) and its cluster watcher: state tests on `App::update`, a render
//! of the popup, and a real run through the local one-node Slurm (`./dev slurm start`), which
//! skips with a printed reason when Slurm is not up.
// Test code may unwrap and panic: a failure names its line (lints: Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::tui::*;
use common::*;
use crossterm::event::KeyCode;
use workbench::app::{App, Effect, Event, Pane, Popup};
use workbench::cluster::submit::SubmitPlan;
use workbench::cluster::{ClusterJob, ClusterReport, JobState, Scheduler};
use workbench::config::Settings;
use workbench::runs::RunStatus;

fn submitted(effects: &[Effect]) -> Option<&SubmitPlan> {
    effects.iter().find_map(|e| match e {
        Effect::Submit { plan } => Some(&**plan),
        _ => None,
    })
}

fn form(app: &App) -> &workbench::app::submit::SubmitForm {
    match &app.popup {
        Some(Popup::Submit(form)) => form,
        other => panic!("no submit popup: {other:?}"),
    }
}

fn typed(text: &str) -> Vec<Event> {
    text.chars().map(ch).collect()
}

#[test]
fn shift_s_opens_the_popup_and_esc_closes_it() {
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    let effects = press(&mut app, &[ch('S')]);
    assert!(effects.is_empty(), "opening submits nothing: {effects:?}");
    let f = form(&app);
    assert_eq!(f.scheduler, Scheduler::Slurm, "no [cluster] scheduler in config: Slurm first");
    assert_eq!(f.spec.dataset, "iris");
    let plan = f.plan.as_ref().unwrap();
    assert!(plan.preview().unwrap().contains("#SBATCH --signal=B:USR1@120"), "{}", plan.preview().unwrap());
    let effects = press(&mut app, &[key(KeyCode::Esc)]);
    assert!(effects.is_empty());
    assert_eq!(app.popup, None);
    assert!(!runs.path().join("runs").exists() && std::fs::read_dir(runs.path()).unwrap().count() <= 1);
}

#[test]
fn enter_submits_the_plan_the_fields_make() {
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    app.form.values.epochs = 7;
    // GPUs 2, time 90m, memory 4G, partition gpu.
    let mut keys = vec![ch('S'), key(KeyCode::Down), key(KeyCode::Backspace)];
    keys.extend(typed("2"));
    keys.push(key(KeyCode::Down));
    keys.extend(typed("90m"));
    keys.push(key(KeyCode::Down));
    keys.extend(typed("4G"));
    keys.push(key(KeyCode::Down));
    keys.extend(typed("gpu"));
    press(&mut app, &keys);
    let shown = form(&app).plan.as_ref().unwrap().preview().unwrap();
    let effects = press(&mut app, &[key(KeyCode::Enter)]);
    let plan = submitted(&effects).expect("Enter submits");
    assert_eq!(app.popup, None);
    assert_eq!(plan.job.scheduler, Scheduler::Slurm);
    assert_eq!(plan.job.resources.gpus, 2);
    assert_eq!(plan.job.resources.time_s, Some(5400));
    assert_eq!(plan.job.resources.mem_mib, Some(4096));
    assert_eq!(plan.job.resources.partition.as_deref(), Some("gpu"));
    assert_eq!((plan.spec.dataset.as_str(), plan.spec.epochs), ("iris", 7));
    assert_eq!(plan.spec.device, "cuda", "a job that asks for GPUs trains on them");
    // The popup showed the very job file that is submitted, as `--dry-run` prints it.
    assert_eq!(shown, plan.preview().unwrap());
    for want in
        ["#SBATCH --gres=gpu:2", "#SBATCH --time=01:30:00", "#SBATCH --mem=4096M", "#SBATCH --partition=gpu"]
    {
        assert!(shown.contains(want), "{want} missing:\n{shown}");
    }
}

#[test]
fn condor_and_bad_values_show_in_the_popup_and_refuse_enter() {
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    press(&mut app, &[ch('S'), key(KeyCode::Right)]);
    let f = form(&app);
    assert_eq!(f.scheduler, Scheduler::Condor);
    assert!(f.plan.as_ref().unwrap().preview().unwrap().contains("request_disk"));
    let mut keys = vec![key(KeyCode::Down), key(KeyCode::Down)];
    keys.extend(typed("soon"));
    press(&mut app, &keys);
    let why = form(&app).plan.clone().unwrap_err();
    assert!(why.contains("--time \"soon\" is not valid"), "{why}");
    let effects = press(&mut app, &[key(KeyCode::Enter)]);
    assert!(submitted(&effects).is_none(), "{effects:?}");
    assert!(matches!(app.popup, Some(Popup::Submit(_))), "the popup stays to fix the value");
    assert!(app.notice.as_ref().unwrap().is_error);
    let text = screen(&app, 120, 40);
    assert!(text.contains("Submit to a cluster") && text.contains("can't submit: --time"), "{text}");
}

#[test]
fn a_refused_submission_opens_an_error_popup_and_a_good_one_names_the_job() {
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    app.update(Event::Submitted(Err(
        "Slurm has no partition \"nope\" (sbatch: error: invalid partition specified: nope)".into(),
    )));
    match &app.popup {
        Some(Popup::Details { title, text }) => {
            assert_eq!(title, "Submission failed");
            assert!(text.contains("invalid partition specified: nope"));
        }
        other => panic!("{other:?}"),
    }
    press(&mut app, &[key(KeyCode::Esc)]);
    let key_ = "20261128-120000-iris-mlp-slurm";
    app.update(Event::Runs(vec![meta_event(run_meta(key_, "iris", RunStatus::Queued, 0.01, 20))]));
    app.update(Event::Cluster(ClusterReport {
        jobs: vec![ClusterJob {
            key: key_.into(),
            scheduler: Scheduler::Slurm,
            job_id: workbench::cluster::JobId::parse(Scheduler::Slurm, "4242").unwrap(),
            state: Some(JobState::Queued { reason: Some("Priority".into()) }),
        }],
        errors: vec![],
    }));
    app.focus = Pane::Runs;
    let text = screen(&app, 160, 40);
    assert!(text.contains("slurm 4242 11-28 12:00:00 iris-mlp-slurm"), "{text}");
}

// ---- The real thing: the local one-node Slurm. ----

/// A project folder with a tiny dataset and a config that runs the built workbench on the node.
fn project(dir: &Path) -> Settings {
    std::fs::create_dir(dir.join("datasets")).unwrap();
    let iris = std::fs::read_to_string(shipped_datasets().join("iris.csv")).unwrap();
    let lines: Vec<&str> = iris.lines().collect();
    let tiny: Vec<&str> = lines[..21].iter().chain(&lines[51..71]).copied().collect();
    std::fs::write(dir.join("datasets/tiny.csv"), tiny.join("\n") + "\n").unwrap();
    let config = format!(
        "[train]\ndataset = \"tiny\"\nepochs = 3000\nbatch_size = 8\nthreads = 1\n[cluster]\nscheduler = \"slurm\"\nnode_local_paths = []\nbinary = {:?}\n",
        env!("CARGO_BIN_EXE_workbench")
    );
    let path = dir.join("config.toml");
    std::fs::write(&path, &config).unwrap();
    let file = workbench::config::parse_config(&config).unwrap();
    Settings::from_file(file, dir, Some(path))
}

/// Cancels the job if the test fails half-way, so no job outlives it.
struct CancelOnDrop(Option<std::path::PathBuf>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(dir) = &self.0 {
            let status = workbench::cluster::read_run_meta(dir).map(|m| m.status);
            if matches!(status, Ok(RunStatus::Queued | RunStatus::Running)) {
                let _ = workbench::cluster::cancel(dir);
            }
        }
    }
}

#[test]
fn a_run_submitted_from_the_tui_shows_queued_then_running_then_finished() {
    if let Some(why) = slurm_missing() {
        eprintln!("SKIPPED a_run_submitted_from_the_tui_shows_queued_then_running_then_finished: {why}");
        return;
    }
    let dir = tempdir();
    let settings = project(dir.path());
    let runs_dir = settings.runs_dir.clone();
    std::fs::create_dir_all(&runs_dir).unwrap();
    let catalog = workbench::data::Catalog::scan_settings(&settings);
    let mut app = App::new(settings, false);
    app.update(Event::Catalog(catalog));
    app.update(Event::Devices(devices(0)));

    // The same threads the TUI runs: the runs follower and the cluster watcher.
    let (tx, rx) = mpsc::channel();
    let runs_tx = tx.clone();
    let _follower =
        workbench::runs::spawn_watcher(vec![runs_dir.clone()], Duration::from_millis(200), move |e| {
            runs_tx.send(Event::Runs(e)).is_ok()
        })
        .unwrap();
    let _cluster =
        workbench::tui::cluster_watch::ClusterWatch::spawn(runs_dir.clone(), Duration::from_secs(10), tx)
            .unwrap();

    let effects = press(&mut app, &[ch('S'), key(KeyCode::Enter)]);
    let plan = submitted(&effects).expect("Enter submits").clone();
    let started = Instant::now();
    // What the runner's submit thread does.
    let answer = workbench::tui::cluster_watch::submit_event(&plan);
    let Event::Submitted(Ok(done)) = &answer else { panic!("{answer:?}") };
    let (run_key, job_id) = (done.run_id.clone(), done.job.job_id.clone());
    let _guard = CancelOnDrop(Some(done.dir.clone()));
    app.update(answer);
    assert_eq!(app.cluster_jobs[&run_key].job_id, job_id);

    let mut seen: Vec<(RunStatus, usize)> = Vec::new();
    let mut job_states = Vec::new();
    let deadline = started + Duration::from_secs(90);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "gave up after 90 s; seen {seen:?}, job {job_states:?}");
        let Ok(event) = rx.recv_timeout(left) else { continue };
        if let Event::Cluster(report) = &event {
            job_states
                .extend(report.jobs.iter().filter(|j| j.key == run_key).filter_map(|j| j.state.clone()));
        }
        app.update(event);
        if let Some(run) = app.runs.get(&run_key) {
            let now = (run.status.unwrap(), run.epochs.len());
            if seen.last() != Some(&now) {
                seen.push(now);
            }
            if now == (RunStatus::Finished, 3000) {
                break;
            }
        }
    }
    eprintln!("{} s; statuses seen {seen:?}; job states {job_states:?}", started.elapsed().as_secs());
    assert_eq!(seen.first().unwrap().0, RunStatus::Queued, "{seen:?}");
    assert!(seen.iter().any(|(s, n)| *s == RunStatus::Running && *n > 0), "epochs while running: {seen:?}");
    assert_eq!(*seen.last().unwrap(), (RunStatus::Finished, 3000), "{seen:?}");
    assert!(!job_states.is_empty(), "the cluster watcher asked Slurm about the job");
    let job = &app.cluster_jobs[&run_key];
    assert_eq!((job.scheduler, job.job_id.as_str()), (Scheduler::Slurm, job_id.as_str()));
    app.focus = Pane::Runs;
    let text = screen(&app, 160, 40);
    assert!(text.contains(&format!("slurm {job_id}")), "{text}");
}
