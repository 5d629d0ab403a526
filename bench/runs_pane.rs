//! The runs pane over a runs folder of 1,000 real run folders (run.toml, 100 epoch rows and 800
//! step rows each): the time from opening the folder to the first frame (the follower's first
//! poll, the app's update and one draw), then the frame time while one of the runs is training
//! (an epoch row appended, the folder polled, the update applied and a frame drawn, each round).
//! Run with `cargo bench --bench runs_pane` (prints JSON; targets: first frame < 1 s, frames < 5 ms).
// Test and benchmark code may unwrap and panic: a failure names its line (lints: Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use std::io::Write;
use std::path::Path;
use std::time::Instant;

use ratatui::backend::TestBackend;
use ratatui::Terminal;
use workbench::app::{App, Event, Pane};
use workbench::config::{ConfigFile, Settings, TrainConfig};
use workbench::runs::{write_run_meta, DataInfo, RunMeta, RunStatus, RunsFollower, Versions, METRICS_HEADER};
use workbench::train::TrainSpec;

const RUNS: usize = 1_000;
const EPOCHS: usize = 100;
const STEPS_PER_EPOCH: usize = 8;

fn meta(id: &str, status: RunStatus) -> RunMeta {
    let mut hyperparameters = TrainSpec::from_config("iris", &TrainConfig::default());
    hyperparameters.epochs = EPOCHS as u32 * 2;
    RunMeta {
        id: id.into(),
        status,
        reason: None,
        dataset: "iris".into(),
        model: "mlp".into(),
        device: "cpu".into(),
        device_label: "CPU".into(),
        started_at: "2026-11-26T12:00:00Z".into(),
        finished_at: None,
        epochs_completed: EPOCHS as u32,
        pid: std::process::id(),
        host: workbench::runs::host_name(),
        checkpoint: None,
        checkpoint_epoch: None,
        failure_kind: None,
        hyperparameters,
        data: DataInfo {
            task: "classification".into(),
            train_samples: 120,
            val_samples: 30,
            ..Default::default()
        },
        versions: Versions {
            workbench: "bench".into(),
            tch: "0.24".into(),
            libtorch: "bench".into(),
            libtorch_path: String::new(),
        },
        final_metrics: None,
        race: None,
        device_switches: Vec::new(),
        kind: workbench::command::RunKind::Train,
        command: None,
        peak_gpu_mem_mb: None,
        queue: None,
        sweep: None,
        sweep_cell: Default::default(),
    }
}

fn epoch_row(e: usize) -> String {
    let loss = 1.0 / (e as f64 + 1.0);
    format!(
        "{e},{loss},{},{},50000.0,{:.4},{}\n",
        loss * 1.1,
        1.0 - loss,
        e as f64 * 0.01,
        e * STEPS_PER_EPOCH
    )
}

fn write_run(runs: &Path, i: usize) -> std::path::PathBuf {
    let id = format!("20261125-{i:06}-iris-mlp-cpu");
    let dir = runs.join(&id);
    std::fs::create_dir_all(&dir).unwrap();
    write_run_meta(&dir, &meta(&id, RunStatus::Finished)).unwrap();
    let mut metrics = format!("{METRICS_HEADER}\n");
    let mut steps = String::from("step,epoch,loss,wall_s\n");
    for e in 1..=EPOCHS {
        metrics.push_str(&epoch_row(e));
        for s in 0..STEPS_PER_EPOCH {
            let step = (e - 1) * STEPS_PER_EPOCH + s + 1;
            steps.push_str(&format!("{step},{e},{},{:.4}\n", 1.0 / step as f64, step as f64 * 0.001));
        }
    }
    std::fs::write(dir.join("metrics.csv"), metrics).unwrap();
    std::fs::write(dir.join("steps.csv"), steps).unwrap();
    dir
}

fn main() {
    let folder = tempfile::tempdir().unwrap();
    let runs = folder.path().join("runs");
    let dirs: Vec<_> = (0..RUNS).map(|i| write_run(&runs, i)).collect();
    // The newest run is "running": this process plays its run process (pid and host are ours).
    let live = dirs.last().unwrap().clone();
    write_run_meta(&live, &meta(&workbench::runs::folder_id(&live), RunStatus::Running)).unwrap();

    let repo = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut settings = Settings::from_file(ConfigFile::default(), &repo, None);
    settings.runs_dir = runs.clone();
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();

    // Time to the first frame: the first poll reads every folder whole.
    let start = Instant::now();
    let mut app = App::new(settings, false);
    let mut follower = RunsFollower::new(vec![runs.clone()]);
    app.update(Event::Runs(follower.poll()));
    app.focus = Pane::Runs;
    terminal.draw(|f| workbench::ui::render(&app, f)).unwrap();
    let first_frame_ms = start.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(app.runs.order.len(), RUNS, "every folder listed");

    // While one run trains: append a row, poll, update, draw.
    let mut metrics = std::fs::OpenOptions::new().append(true).open(live.join("metrics.csv")).unwrap();
    let mut frames = Vec::new();
    for e in EPOCHS + 1..=EPOCHS + 100 {
        metrics.write_all(epoch_row(e).as_bytes()).unwrap();
        let t = Instant::now();
        let events = follower.poll();
        app.update(Event::Runs(events));
        terminal.draw(|f| workbench::ui::render(&app, f)).unwrap();
        frames.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    frames.sort_by(f64::total_cmp);
    let (median, p95) = (frames[frames.len() / 2], frames[frames.len() * 95 / 100]);
    println!(
        "{{\"runs\": {RUNS}, \"size\": \"120x40\", \"first_frame_ms\": {first_frame_ms:.1}, \
         \"poll_update_draw_median_ms\": {median:.3}, \"poll_update_draw_p95_ms\": {p95:.3}}}"
    );
}
