//! The staging progress line of `workbench train` and `workbench stage`: redrawn in place on a
//! terminal (ten times a second at most), a plain line every two seconds otherwise (logs, pipes,
//! batch jobs), nothing with `--quiet`.
use std::io::{IsTerminal, Write};
use std::time::Instant;

use crate::data::{staging_text, StagePhase};

pub struct ProgressLine {
    tty: bool,
    quiet: bool,
    /// The phase shown and when it began: each phase has its own rate and ETA.
    phase: Option<(StagePhase, Instant)>,
    last: Option<Instant>,
    drawn: bool,
}

impl ProgressLine {
    pub fn new(quiet: bool) -> ProgressLine {
        ProgressLine { tty: std::io::stdout().is_terminal(), quiet, phase: None, last: None, drawn: false }
    }

    /// Show `done` of `total` for `phase`, prefixed with `prefix` (`shapes: staging`).
    pub fn update(&mut self, prefix: &str, phase: StagePhase, done: u64, total: u64) {
        if self.quiet || total == 0 {
            return;
        }
        let now = Instant::now();
        let started = match self.phase {
            Some((p, t)) if p == phase => t,
            _ => {
                self.phase = Some((phase, now));
                self.last = None; // a new phase shows at once
                now
            }
        };
        let every = if self.tty { 100 } else { 2000 };
        let due = self.last.is_none_or(|t| now.duration_since(t).as_millis() >= every);
        if !due && done < total {
            return;
        }
        self.last = Some(now);
        let text = format!("{prefix} {}", staging_text(phase, done, total, (now - started).as_secs_f64()));
        let mut out = std::io::stdout().lock();
        if self.tty {
            let _ = write!(out, "\r\x1b[2K{text}");
            self.drawn = true;
        } else {
            let _ = writeln!(out, "{text}");
        }
        let _ = out.flush();
    }

    /// Take the line off the terminal before other output.
    pub fn clear(&mut self) {
        if self.drawn {
            let mut out = std::io::stdout().lock();
            let _ = write!(out, "\r\x1b[2K");
            let _ = out.flush();
            self.drawn = false;
        }
        self.phase = None;
        self.last = None;
    }
}
