//! The runs pane over a runs folder of 1,000 real run folders (run.toml, 100 epoch rows and 800
//! step rows each): the time from opening the folder to the first frame (the follower's first
//! poll, the app's update and one draw), then the frame time while one of the runs is training
//! (an epoch row appended, the folder polled, the update applied and a frame drawn, each round).
//! Run with `cargo bench --bench runs_pane` (prints JSON; targets: first frame < 1 s, frames < 5 ms).
// Test and benchmark code may unwrap and panic: a failure names its line (lints: Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use std::io::Write;
use std::time::Instant;

use ratatui::backend::TestBackend;
use ratatui::Terminal;
#[path = "common/runs_fixture.rs"]
mod runs_fixture;

use runs_fixture::{epoch_row, meta, write_run, EPOCHS};
use workbench::app::{App, Event, Pane};
use workbench::config::{ConfigFile, Settings};
use workbench::runs::{write_run_meta, RunStatus, RunsFollower};

const RUNS: usize = 1_000;

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
