//! How a command run ended, in words: the last lines of its stderr, and whether its output says
//! that it ran out of memory.
use std::collections::VecDeque;

/// Lines of stderr kept for the reason.
pub const REASON_LINES: usize = 20;
/// Bytes of stderr kept for the reason.
pub const REASON_BYTES: usize = 4096;

/// What CUDA, PyTorch and the kernel print when memory runs out.
const OOM_PATTERNS: [&str; 6] = [
    "CUDA out of memory",
    "torch.OutOfMemoryError",
    "torch.cuda.OutOfMemoryError",
    "CUBLAS_STATUS_ALLOC_FAILED",
    "Out of memory: Killed process",
    "MemoryError",
];

/// Whether a line of output says that memory ran out.
pub fn says_out_of_memory(line: &[u8]) -> bool {
    // Cheap first: every pattern holds an `M`, an `O` or the `m` of "memory" (older PyTorch
    // says only "RuntimeError: CUDA out of memory", with no capital M or O).
    if !line.iter().any(|&b| matches!(b, b'M' | b'O' | b'm')) {
        return false;
    }
    let text = String::from_utf8_lossy(line);
    OOM_PATTERNS.iter().any(|p| text.contains(p))
}

/// The last lines of a stream, at most [`REASON_LINES`] lines and [`REASON_BYTES`] bytes.
#[derive(Debug, Default)]
pub struct LineTail {
    lines: VecDeque<String>,
    bytes: usize,
}

impl LineTail {
    pub fn push(&mut self, line: &[u8]) {
        let mut text = String::from_utf8_lossy(line).trim_end().to_string();
        if text.len() > REASON_BYTES {
            let mut cut = text.len() - REASON_BYTES;
            while !text.is_char_boundary(cut) {
                cut += 1;
            }
            text = text.split_off(cut);
        }
        if text.is_empty() {
            return;
        }
        self.bytes += text.len() + 1;
        self.lines.push_back(text);
        while self.lines.len() > REASON_LINES || (self.bytes > REASON_BYTES && self.lines.len() > 1) {
            if let Some(old) = self.lines.pop_front() {
                self.bytes -= old.len() + 1;
            }
        }
    }

    /// The lines kept, joined with newlines.
    pub fn text(&self) -> String {
        self.lines.iter().cloned().collect::<Vec<_>>().join("\n")
    }
}

/// How the process ended, from its wait status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// It exited with this code.
    Code(i32),
    /// A signal ended it.
    Signal(i32),
}

impl Exit {
    /// From a raw `waitpid` status.
    pub fn from_wait_status(status: i32) -> Exit {
        if libc::WIFSIGNALED(status) {
            Exit::Signal(libc::WTERMSIG(status))
        } else {
            Exit::Code(libc::WEXITSTATUS(status))
        }
    }

    /// The code a shell would report: the code, or 128 + the signal.
    pub fn shell_code(&self) -> i32 {
        match self {
            Exit::Code(c) => *c,
            Exit::Signal(s) => 128 + s,
        }
    }

    /// `exited with code 3`, `killed by SIGKILL`.
    pub fn describe(&self) -> String {
        match self {
            Exit::Code(c) => format!("exited with code {c}"),
            Exit::Signal(s) => format!("killed by {}", signal_name(*s)),
        }
    }
}

/// `SIGKILL` for 9, `signal 42` for one without a name here.
pub fn signal_name(signal: i32) -> String {
    let name = match signal {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGUSR2 => "SIGUSR2",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        _ => return format!("signal {signal}"),
    };
    name.to_string()
}

/// The `reason` of a failed run: how it ended, then the last lines of its stderr.
pub fn failure_reason(exit: Exit, stderr_tail: &str) -> String {
    if stderr_tail.is_empty() {
        format!("the command {}", exit.describe())
    } else {
        format!("the command {}; the end of its stderr:\n{stderr_tail}", exit.describe())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_keeps_twenty_lines_and_four_kib() {
        let mut tail = LineTail::default();
        for i in 0..50 {
            tail.push(format!("line {i}\n").as_bytes());
        }
        let text = tail.text();
        assert_eq!(text.lines().count(), REASON_LINES);
        assert!(text.starts_with("line 30") && text.ends_with("line 49"), "{text}");
        tail.push("x".repeat(10_000).as_bytes());
        assert!(tail.text().len() <= REASON_BYTES, "{}", tail.text().len());
    }

    #[test]
    fn out_of_memory_messages_are_recognised() {
        assert!(says_out_of_memory(b"torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2 GiB"));
        assert!(says_out_of_memory(b"RuntimeError: CUBLAS_STATUS_ALLOC_FAILED when calling cublasCreate"));
        assert!(says_out_of_memory(b"RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB"));
        assert!(!says_out_of_memory(b"loss=0.3 memory=12"));
    }

    #[test]
    fn exits_read_as_a_shell_would() {
        assert_eq!(Exit::Code(3).describe(), "exited with code 3");
        assert_eq!(Exit::Signal(9).describe(), "killed by SIGKILL");
        assert_eq!(Exit::Signal(9).shell_code(), 137);
    }
}
