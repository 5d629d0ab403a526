//! The sweep board (`b`) over a finished sweep of 1,000 runs (100 learning rates × 10 seeds; real
//! run folders with 100 epoch rows each): the time from opening the runs folder to the board's
//! first frame (the follower's first poll, the update, `b`, one draw), then the board's redraw
//! time in each of its views (the seed-grouped table, a group's band chart, the value chart),
//! and the time to build the table again when a run changes (done in the update, not per frame).
//! Run with `cargo bench --bench sweep_board` (prints JSON; issue 19's targets: first draw
//! <= 1 s, redraw <= 5 ms).
// Test and benchmark code may unwrap and panic: a failure names its line (lints: Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use std::time::Instant;

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
#[path = "common/runs_fixture.rs"]
mod runs_fixture;

use workbench::app::{App, Event, Popup};
use workbench::config::{ConfigFile, Settings};
use workbench::runs::RunsFollower;

const LRS: usize = 100;
const SEEDS: usize = 10;

fn main() {
    let folder = tempfile::tempdir().unwrap();
    let runs = folder.path().join("runs");
    for l in 0..LRS {
        for s in 0..SEEDS {
            let lr = format!("{:.6}", 1e-4 * 10f64.powf(3.0 * l as f64 / (LRS - 1) as f64));
            let speed = 0.05 + l as f64 / LRS as f64 + s as f64 * 0.01;
            runs_fixture::write_run_with(
                &runs,
                l * SEEDS + s,
                |m| {
                    m.sweep = Some("bench".into());
                    m.sweep_cell =
                        [("lr".to_string(), lr.clone()), ("seed".to_string(), s.to_string())].into();
                },
                speed,
            );
        }
    }
    let repo = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut settings = Settings::from_file(ConfigFile::default(), &repo, None);
    settings.runs_dir = runs.clone();
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    let key = |c: KeyCode| Event::Key(KeyEvent::from(c));

    let start = Instant::now();
    let mut app = App::new(settings, false);
    let mut follower = RunsFollower::new(vec![runs.clone()]);
    app.update(Event::Runs(follower.poll()));
    app.runs.focused = app.runs.order.first().cloned();
    app.update(key(KeyCode::Char('b')));
    terminal.draw(|f| workbench::ui::render(&app, f)).unwrap();
    let first_frame_ms = start.elapsed().as_secs_f64() * 1000.0;
    let Some(Popup::Board(board)) = &app.popup else { panic!("no board") };
    let table = board.table(&app.runs);
    assert_eq!((table.cells.len(), table.rows.len()), (LRS * SEEDS, LRS), "every run on the board");

    let mut redraw = |app: &App| {
        let mut times = Vec::new();
        for _ in 0..50 {
            let t = Instant::now();
            terminal.draw(|f| workbench::ui::render(app, f)).unwrap();
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(f64::total_cmp);
        (times[times.len() / 2], times[times.len() * 95 / 100])
    };
    let t = Instant::now();
    for _ in 0..50 {
        std::hint::black_box(board.table(&app.runs));
    }
    // What an update that changes the runs costs the board: its table built again.
    let build_ms = t.elapsed().as_secs_f64() * 1000.0 / 50.0;
    let table_ms = redraw(&app);
    app.update(key(KeyCode::Enter));
    let band_ms = redraw(&app);
    app.update(key(KeyCode::Esc));
    app.update(key(KeyCode::Char('v')));
    let values_ms = redraw(&app);
    println!(
        "{{\"runs\": {}, \"groups\": {LRS}, \"size\": \"120x40\", \"first_frame_ms\": {first_frame_ms:.1}, \"table_build_ms\": {build_ms:.3}, \
         \"table_redraw_median_ms\": {:.3}, \"table_redraw_p95_ms\": {:.3}, \
         \"band_redraw_median_ms\": {:.3}, \"band_redraw_p95_ms\": {:.3}, \
         \"values_redraw_median_ms\": {:.3}, \"values_redraw_p95_ms\": {:.3}}}",
        LRS * SEEDS,
        table_ms.0,
        table_ms.1,
        band_ms.0,
        band_ms.1,
        values_ms.0,
        values_ms.1
    );
}
