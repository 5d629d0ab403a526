//! The TUI's background threads, started so that a panic in one reaches the UI as
//! [`Event::WorkerFailed`] (the pane that waits on it shows the error) instead of a silent stall.
use std::sync::mpsc::Sender;
use std::thread::JoinHandle;

use crate::app::{Event, Worker};

/// Start `body` on `worker`'s named thread; a panic in it is sent to the UI on `tx`.
pub fn spawn(
    worker: Worker,
    tx: &Sender<Event>,
    body: impl FnOnce() + Send + 'static,
) -> std::io::Result<JoinHandle<()>> {
    crate::threads::spawn_reporting(worker.thread_name(), body, reporter(worker, tx))
}

/// What tells the UI that `worker` panicked, for code run on threads others own.
pub fn reporter(worker: Worker, tx: &Sender<Event>) -> impl FnOnce(String) + Send + Clone + 'static {
    let tx = tx.clone();
    move |message| {
        let _ = tx.send(Event::WorkerFailed { worker, message });
    }
}

/// Test only, not for users: `WORKBENCH_TEST_PANIC=main` panics on the UI thread once the screen
/// is taken, `WORKBENCH_TEST_PANIC=scan` in the dataset scan, so the end-to-end tests
/// (tests/tui_e2e.rs) can check that the terminal is given back and the error shown.
pub const TEST_PANIC_ENV: &str = "WORKBENCH_TEST_PANIC";

/// Panic here when [`TEST_PANIC_ENV`] names `place`.
#[allow(clippy::panic)] // the whole point: a panic on purpose, for the tests
pub fn test_panic(place: &str) {
    if std::env::var_os(TEST_PANIC_ENV).is_some_and(|v| v == place) {
        panic!("{TEST_PANIC_ENV}={place}: a panic on purpose, for the tests");
    }
}
