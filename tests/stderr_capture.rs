//! While the TUI is up, whatever reaches fd 2 (libtorch's C++ warnings write there directly) must
//! not scribble over the screen: it goes to the log instead. This runs in its own test binary
//! because it redirects the process's stderr.
// Test and benchmark code may unwrap and panic: a failure names its line (lints: Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use std::sync::mpsc;
use std::time::Duration;

#[test]
fn writes_to_fd_2_become_log_lines() {
    let dir = tempfile::tempdir().unwrap();
    let _guard = workbench::logging::init(dir.path());
    let (tx, rx) = mpsc::channel();
    workbench::logging::set_tap(move |line| {
        let _ = tx.send(line);
    });
    let reader = workbench::tui::stderr::capture().expect("stderr redirected");
    let text = b"[W NNPACK.cpp:64] Could not initialize NNPACK! Reason: Unsupported hardware.\n";
    // SAFETY: writing a byte buffer to fd 2, as C++ code would.
    let written = unsafe { libc::write(2, text.as_ptr().cast(), text.len()) };
    assert_eq!(written as usize, text.len());
    let line = rx.recv_timeout(Duration::from_secs(5)).expect("the line reaches the log tap");
    workbench::tui::stderr::restore();
    workbench::logging::clear_tap();
    reader.join().expect("the reader ends once stderr is restored");
    assert_eq!(line.level, tracing::Level::WARN);
    assert_eq!(line.target, "stderr");
    assert!(line.message.contains("Could not initialize NNPACK"), "{}", line.message);
}
