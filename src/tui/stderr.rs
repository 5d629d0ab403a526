//! While the TUI owns the screen, anything written to stderr (libtorch's C++ warnings included)
//! would scribble over it. So fd 2 is pointed at a pipe, and a thread turns each line into a
//! tracing warning: it lands in the log file and the log pane instead.
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::os::fd::FromRawFd;
use std::sync::atomic::{AtomicI32, Ordering};
use std::thread::JoinHandle;

/// The original stderr, while it is redirected.
static SAVED: AtomicI32 = AtomicI32::new(-1);

/// Redirect fd 2 into the log. Returns the reader thread, which ends when [`restore`] is called.
pub fn capture() -> std::io::Result<JoinHandle<()>> {
    let mut fds = [0; 2];
    // SAFETY: plain POSIX calls on descriptors this function owns; every result is checked.
    unsafe {
        if libc::pipe(fds.as_mut_ptr()) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let saved = libc::dup(2);
        if saved < 0 || libc::dup2(fds[1], 2) < 0 {
            let e = std::io::Error::last_os_error();
            libc::close(fds[0]);
            libc::close(fds[1]);
            if saved >= 0 {
                libc::close(saved);
            }
            return Err(e);
        }
        libc::close(fds[1]);
        SAVED.store(saved, Ordering::SeqCst);
    }
    // SAFETY: fds[0] is the read end of the pipe made above, owned by nothing else.
    let reader = unsafe { File::from_raw_fd(fds[0]) };
    std::thread::Builder::new().name("stderr-log".into()).spawn(move || {
        for line in BufReader::new(reader).lines() {
            let Ok(line) = line else { break };
            if !line.trim().is_empty() {
                tracing::warn!(target: "stderr", "{line}");
            }
        }
    })
}

/// Point fd 2 back at the real stderr. The pipe's last writer closes, so the reader ends.
pub fn restore() {
    let saved = SAVED.swap(-1, Ordering::SeqCst);
    if saved >= 0 {
        // SAFETY: `saved` is the duplicate of the original stderr made in `capture`.
        unsafe {
            libc::dup2(saved, 2);
            libc::close(saved);
        }
    }
}
