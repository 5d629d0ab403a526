//! While the TUI owns the screen, anything written to stderr (libtorch's C++ warnings included)
//! would scribble over it. So fd 2 is pointed at a pipe, and a thread turns each line into a
//! tracing warning: it lands in the log file and the log pane instead.
use std::fs::File;
use std::io::Read;
use std::os::fd::FromRawFd;
use std::sync::atomic::{AtomicI32, Ordering};
use std::thread::JoinHandle;

use crate::util::lines::{Line, LineSplitter};

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
        forward_lines(reader, |line| tracing::warn!(target: "stderr", "{line}"));
    })
}

/// The longest stderr line logged whole; a longer one is cut (libtorch's warnings are a few
/// hundred bytes; a runaway line must not grow memory).
pub const STDERR_LINE_MAX: usize = 16 * 1024;

/// Hand each non-blank line read from `reader` to `log` until the stream ends (or can't be read).
/// Bytes that are not UTF-8 are replaced, never the end of the capture; a line longer than
/// [`STDERR_LINE_MAX`] is cut, marked so.
pub fn forward_lines(mut reader: impl Read, mut log: impl FnMut(&str)) {
    let mut splitter = LineSplitter::new(STDERR_LINE_MAX);
    let mut emit = |line: Line| {
        let text = line.text();
        if !text.trim().is_empty() {
            if line.cut {
                log(&format!("{text} [line cut at {STDERR_LINE_MAX} bytes]"));
            } else {
                log(&text);
            }
        }
    };
    let mut buf = vec![0u8; 8192];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => splitter.push(&buf[..n], &mut emit),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    // The last line, when the stream ended without its newline.
    splitter.push(b"\n", &mut emit);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_goes_on_after_bytes_that_are_not_utf8() {
        let input: &[u8] = b"first\n\xff\xfe latin-1 \xe9t\xe9\n\nafter the bad line\nno newline at the end";
        let mut got = Vec::new();
        forward_lines(input, |l| got.push(l.to_string()));
        assert_eq!(
            got,
            [
                "first",
                "\u{fffd}\u{fffd} latin-1 \u{fffd}t\u{fffd}",
                "after the bad line",
                "no newline at the end"
            ]
        );
    }

    #[test]
    fn a_runaway_line_is_cut_and_the_lines_after_it_still_come() {
        let mut input = vec![b'x'; 10 * STDERR_LINE_MAX];
        input.extend_from_slice(b"\nnext\n");
        let mut got = Vec::new();
        forward_lines(input.as_slice(), |l| got.push(l.to_string()));
        assert_eq!(got.len(), 2);
        assert!(
            got[0].ends_with(&format!("[line cut at {STDERR_LINE_MAX} bytes]"))
                && got[0].len() < 2 * STDERR_LINE_MAX
        );
        assert_eq!(got[1], "next");
    }
}
