//! Named threads whose panics are reported, not lost.
//!
//! A thread that panics ends quietly: whoever waits on what it would have sent waits forever
//! (the datasets pane saying `scanning...` for good). Every thread the workbench starts goes
//! through [`spawn_reporting`], which runs its body under `catch_unwind` and hands the panic's
//! message, as plain text, to the thread's `on_panic` (the TUI turns it into
//! `Event::WorkerFailed`). The panic hook (src/logging.rs) has already written the message and
//! its location to the log by then.
use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::thread::JoinHandle;

/// Start `body` on a thread named `name`; should it panic, `on_panic` gets the message on that
/// same thread just before it ends.
pub fn spawn_reporting(
    name: impl Into<String>,
    body: impl FnOnce() + Send + 'static,
    on_panic: impl FnOnce(String) + Send + 'static,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new().name(name.into()).spawn(move || catch_reporting(body, on_panic))
}

/// Run `body`; should it panic, hand its message to `on_panic` instead of unwinding further.
/// For code that runs on threads others own (a file watcher's callback).
pub fn catch_reporting(body: impl FnOnce(), on_panic: impl FnOnce(String)) {
    // Unwind safety: after a panic nothing of `body`'s state is used again; the thread (or the
    // callback call) ends here.
    if let Err(payload) = catch_unwind(AssertUnwindSafe(body)) {
        on_panic(panic_message(payload.as_ref()));
    }
}

/// The first line of a caught panic's message. libtorch errors arrive as panics from tch's
/// non-fallible calls, with a C++ backtrace after the first line.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    let text = if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    };
    text.lines().next().unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_thread_reports_its_first_line_and_a_quiet_one_reports_nothing() {
        let (tx, rx) = std::sync::mpsc::channel();
        let tx2 = tx.clone();
        let failing = spawn_reporting(
            "test-panics",
            || std::panic::panic_any(String::from("boom\nC++ backtrace")),
            move |m| tx.send(m).unwrap(),
        )
        .unwrap();
        failing.join().expect("the panic was caught: the thread ends normally");
        assert_eq!(rx.recv().unwrap(), "boom");
        let quiet = spawn_reporting("test-quiet", || {}, move |m| tx2.send(m).unwrap()).unwrap();
        quiet.join().unwrap();
        assert!(rx.recv().is_err(), "no report from a thread that did not panic");
    }
}
