//! The TUI with 500 queued runs: the time to the first frame (the runs follower's first poll, the
//! queue watcher's first look, the app's update, one draw), then the frame time as the queue
//! watcher looks again (scan, snapshot, update, draw) with the focused run's reason shown.
//! Run with `cargo bench --bench queue_pane` (prints JSON; targets: first frame <= 1 s, frame <= 5 ms).
// Test and benchmark code may unwrap and panic: a failure names its line (lints: Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use std::time::Instant;

use ratatui::backend::TestBackend;
use ratatui::Terminal;
use workbench::app::{App, Event, Pane};
use workbench::config::{ConfigFile, Settings, TrainConfig};
use workbench::queue::record::QueueReader;
use workbench::queue::snapshot::snapshot;
use workbench::queue::QueueTable;
use workbench::runs::{RunMeta, RunRecorder, RunsFollower};
use workbench::train::TrainSpec;

const QUEUED: usize = 500;

fn main() {
    let folder = tempfile::tempdir().unwrap();
    let runs = folder.path().join("runs");
    for i in 0..QUEUED {
        let mut meta = RunMeta::queued(
            workbench::command::RunKind::Train,
            "iris".into(),
            "mlp".into(),
            "cpu".into(),
            "queued for cpu".into(),
            TrainSpec::from_config("iris", &TrainConfig::default()),
        );
        let mut table =
            QueueTable::new("cpu".into(), None, "none: it runs on the CPU".into(), (i % 3) as i32);
        table.queued_at = format!("2026-12-06T06:{:02}:{:02}.{:03}Z", i / 3600 % 60, i / 60 % 60, i % 1000);
        meta.queue = Some(table);
        RunRecorder::create_folder(&runs, &mut meta).unwrap();
    }
    let repo = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut settings = Settings::from_file(ConfigFile::default(), &repo, None);
    settings.runs_dir = runs.clone();
    let limits = settings.queue.limits();
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();

    let start = Instant::now();
    let mut app = App::new(settings, false);
    let mut follower = RunsFollower::new(vec![runs.clone()]);
    let mut reader = QueueReader::new();
    app.update(Event::Runs(follower.poll()));
    app.update(Event::Queue(Box::new(snapshot(&reader.scan(&runs), &[], &limits, Some(1)))));
    app.focus = Pane::Runs;
    terminal.draw(|f| workbench::ui::render(&app, f)).unwrap();
    let first_frame_ms = start.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(app.runs.order.len(), QUEUED, "every folder listed");
    assert_eq!(app.queue.as_ref().unwrap().waiting, QUEUED, "every run queued");

    // Each round: the watcher's look (scan with unchanged run.toml files, the decision), the
    // update, a frame, the focus moved so that another run's reason is drawn.
    let mut looks = Vec::new();
    let mut frames = Vec::new();
    for round in 0..100 {
        let t = Instant::now();
        let seen = snapshot(&reader.scan(&runs), &[], &limits, Some(1));
        looks.push(t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        app.update(Event::Queue(Box::new(seen)));
        let key = if round % 2 == 0 { "j" } else { "k" };
        app.update(Event::Key(crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Char(
            key.chars().next().unwrap(),
        ))));
        terminal.draw(|f| workbench::ui::render(&app, f)).unwrap();
        frames.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        (v[v.len() / 2], v[v.len() * 95 / 100])
    };
    let (look_median, look_p95) = median(&mut looks);
    let (frame_median, frame_p95) = median(&mut frames);
    println!(
        "{{\"queued\": {QUEUED}, \"size\": \"120x40\", \"first_frame_ms\": {first_frame_ms:.1}, \
         \"update_draw_median_ms\": {frame_median:.3}, \"update_draw_p95_ms\": {frame_p95:.3}, \
         \"watcher_look_median_ms\": {look_median:.3}, \"watcher_look_p95_ms\": {look_p95:.3}}}"
    );
}
