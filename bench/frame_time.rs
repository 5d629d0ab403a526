//! Frame time: drawing one full frame (120x40) of a run with 1,000,000 per-step loss points,
//! in the full-history view and in the recent-steps view, into ratatui's test backend; then the
//! runs pane with 1,001 runs listed.
//! Run with `cargo bench --bench frame_time` (prints JSON with the median and p95 in ms).
// Test and benchmark code may unwrap and panic: a failure names its line (lints: Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use std::path::PathBuf;
use std::time::Instant;

use ratatui::backend::TestBackend;
use ratatui::Terminal;
#[path = "common/runs_fixture.rs"]
mod runs_fixture;

use workbench::app::{App, Event, Pane};
use workbench::config::{ConfigFile, Settings};
use workbench::runs::{EpochRow, RunEvent, RunMeta, RunStatus, StepRow};

const POINTS: usize = 1_000_000;
const STEPS_PER_EPOCH: usize = 1_000;
const KEY: &str = "20261126-120000-bench-mlp-cpu";

/// The benchmark's one run, running, as the shared fixture writes run.toml.
fn meta() -> RunMeta {
    let mut m = runs_fixture::meta(KEY, RunStatus::Running);
    m.dataset = "bench".into();
    m.hyperparameters.dataset = "bench".into();
    m.hyperparameters.epochs = (POINTS / STEPS_PER_EPOCH) as u32;
    m.epochs_completed = 0;
    m.pid = 1;
    m.host = "bench".into();
    m.data.train_samples = 16_000;
    m.data.val_samples = 4_000;
    m
}

fn app_with_history() -> App {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let settings = Settings::from_file(ConfigFile::default(), &repo, None);
    let mut app = App::new(settings, false);
    app.started_run(KEY);
    let meta = meta();
    app.update(Event::Runs(vec![RunEvent::Meta {
        key: KEY.into(),
        dir: PathBuf::from("runs").join(KEY),
        meta: Box::new(meta),
        status: RunStatus::Running,
    }]));
    // A noisy, falling loss: the worst case for down-sampling is noise, not a smooth curve.
    let mut state = 12345u64;
    for epoch in 0..POINTS / STEPS_PER_EPOCH {
        let rows: Vec<StepRow> = (0..STEPS_PER_EPOCH)
            .map(|i| {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let noise = (state >> 40) as f32 / (1u64 << 24) as f32;
                let step = epoch * STEPS_PER_EPOCH + i;
                let t = step as f32 / POINTS as f32;
                StepRow {
                    step: step as u64 + 1,
                    epoch: epoch as u32 + 1,
                    loss: 2.0 * (-4.0 * t).exp() + 0.3 * noise,
                    wall_s: Some(step as f64 * 0.001),
                }
            })
            .collect();
        let loss = 2.0 * (-4.0 * epoch as f64 / 1000.0).exp();
        let row = EpochRow {
            epoch: epoch as u32 + 1,
            train_loss: loss,
            val_loss: Some(loss * 1.1),
            val_metric: Some(0.9),
            samples_per_s: 1e5,
            elapsed_s: epoch as f64,
            step: Some(((epoch + 1) * STEPS_PER_EPOCH) as u64),
        };
        app.update(Event::Runs(vec![
            RunEvent::Steps { key: KEY.into(), rows },
            RunEvent::Epochs { key: KEY.into(), rows: vec![row] },
        ]));
    }
    app.focus = Pane::Charts;
    app
}

fn measure(app: &App, frames: usize) -> (f64, f64) {
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("test terminal");
    let mut times = Vec::with_capacity(frames);
    for _ in 0..frames {
        let start = Instant::now();
        terminal.draw(|f| workbench::ui::render(app, f)).expect("draw");
        times.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    (times[frames / 2], times[frames * 95 / 100])
}

fn main() {
    let mut app = app_with_history();
    let points = app.focused_run().map(|r| r.step_loss.len()).unwrap_or(0);
    assert_eq!(points, POINTS);
    let (full_median, full_p95) = measure(&app, 200);
    app.chart.recent = true;
    let (recent_median, recent_p95) = measure(&app, 200);
    app.chart.recent = false;
    app.chart.log_y = true;
    app.chart.smooth = true;
    let (log_median, log_p95) = measure(&app, 200);
    // The runs pane over 1,000 more run folders (the running one above among them), filtered.
    for i in 0..1000 {
        let key = format!("20261125-{i:06}-bench-mlp-cpu");
        let mut meta = meta();
        meta.id = key.clone();
        meta.status = RunStatus::Finished;
        let dir = PathBuf::from("runs").join(&key);
        app.update(Event::Runs(vec![RunEvent::Meta {
            key,
            dir,
            meta: Box::new(meta),
            status: RunStatus::Finished,
        }]));
    }
    app.focus = Pane::Runs;
    let (runs_median, runs_p95) = measure(&app, 200);
    println!(
        "{{\"points\": {points}, \"size\": \"120x40\", \"full_median_ms\": {full_median:.3}, \"full_p95_ms\": {full_p95:.3}, \
         \"recent_median_ms\": {recent_median:.3}, \"recent_p95_ms\": {recent_p95:.3}, \
         \"log_smooth_median_ms\": {log_median:.3}, \"log_smooth_p95_ms\": {log_p95:.3}, \
         \"runs_pane_1001_median_ms\": {runs_median:.3}, \"runs_pane_1001_p95_ms\": {runs_p95:.3}}}"
    );
}
