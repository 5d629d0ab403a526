//! Commands to a run process through its folder: any viewer appends a line to `DIR/control`
//! (`O_APPEND`, one write per line, so two viewers can write at once); the run process reads what
//! was appended since it last looked ([`ControlInbox`]).
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::error::RunsError;
use super::events::{ControlCommand, CONTROL_FILE};
use super::record::{folder_id, read_meta};
use super::RunStatus;
use crate::util::lines::AppendedLines;

/// Send `command` to the run in `dir`. Refused, with the reason, when the run's process is not
/// there to read it (finished, failed, stopped, interrupted, or not started yet), and for
/// `resume` of a run that ended (`workbench train --resume` continues those).
pub fn send_control(dir: &Path, command: ControlCommand) -> Result<(), RunsError> {
    let meta = read_meta(dir)?;
    let status = super::liveness::effective_status(dir, &meta);
    let run = folder_id(dir);
    let action = command.verb();
    if matches!(command, ControlCommand::Move { .. }) && meta.kind == crate::command::RunKind::Command {
        return Err(RunsError::MoveCommand { run });
    }
    match status {
        RunStatus::Running | RunStatus::Paused => {}
        RunStatus::Queued => return Err(RunsError::Queued { run }),
        RunStatus::Stopped | RunStatus::Interrupted | RunStatus::Failed
            if command == ControlCommand::Resume =>
        {
            return Err(RunsError::ResumeEnded { run, status: status.as_str().into() });
        }
        RunStatus::Finished | RunStatus::Failed | RunStatus::Stopped | RunStatus::Interrupted => {
            return Err(RunsError::NotAlive { run, status: status.as_str().into(), action });
        }
    }
    append_line(dir, &command.as_line())
}

/// Append one line to `DIR/control` in a single write: with `O_APPEND`, lines from several
/// writers never interleave.
fn append_line(dir: &Path, line: &str) -> Result<(), RunsError> {
    let path = dir.join(CONTROL_FILE);
    let mut file =
        OpenOptions::new().append(true).create(true).open(&path).map_err(|e| RunsError::write(&path, e))?;
    file.write_all(format!("{line}\n").as_bytes()).map_err(|e| RunsError::write(&path, e))
}

/// The run process's side of `DIR/control`: each [`poll`](ControlInbox::poll) returns the
/// commands appended since the last one.
#[derive(Debug)]
pub struct ControlInbox {
    path: PathBuf,
    file: Option<File>,
    /// Where reading goes on, and the line whose newline is not there yet (capped).
    lines: AppendedLines,
}

/// The longest control line read: commands are a few words; a longer line is skipped, and the
/// file is still read past it.
pub const CONTROL_LINE_MAX: usize = 4096;

impl ControlInbox {
    /// Start reading `DIR/control` from its current end: commands left from an earlier life of
    /// the run (before a resume) are not acted on again.
    pub fn open(dir: &Path) -> Result<ControlInbox, RunsError> {
        let path = dir.join(CONTROL_FILE);
        let offset = match std::fs::metadata(&path) {
            Ok(m) => m.len(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(e) => return Err(RunsError::read(&path, e)),
        };
        Ok(ControlInbox { path, file: None, lines: AppendedLines::new(offset, CONTROL_LINE_MAX) })
    }

    /// The complete lines appended since the last poll, in order; unknown lines (a newer
    /// version's commands) are skipped. Cheap when nothing was written: one `fstat`.
    pub fn poll(&mut self) -> Vec<ControlCommand> {
        if self.file.is_none() {
            self.file = File::open(&self.path).ok();
        }
        let Some(file) = self.file.as_mut() else { return Vec::new() };
        let len = match file.metadata() {
            Ok(m) => m.len(),
            Err(e) => {
                tracing::warn!("control file {}: {e}", self.path.display());
                return Vec::new();
            }
        };
        if len < self.lines.offset {
            // Truncated by hand: start again from its beginning.
            self.lines.restart();
        }
        let lines = match self.lines.read(file, len) {
            Ok(lines) => lines,
            Err(e) => {
                tracing::warn!("control file {}: {e}", self.path.display());
                return Vec::new();
            }
        };
        let mut commands = Vec::new();
        for line in lines {
            if line.cut {
                tracing::warn!(
                    "control file {}: skipped a line longer than {CONTROL_LINE_MAX} bytes",
                    self.path.display()
                );
                continue;
            }
            commands.extend(ControlCommand::parse(&line.text()));
        }
        commands
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_writers_lines_are_all_read_once_in_order() {
        let dir = tempfile::tempdir().unwrap();
        append_line(dir.path(), "stop").unwrap(); // from an earlier life: not acted on
        let mut inbox = ControlInbox::open(dir.path()).unwrap();
        assert!(inbox.poll().is_empty());
        let writers: Vec<_> = (0..2)
            .map(|w| {
                let d = dir.path().to_path_buf();
                std::thread::spawn(move || {
                    for i in 0..200 {
                        append_line(&d, if (i + w) % 2 == 0 { "pause" } else { "resume" }).unwrap();
                    }
                })
            })
            .collect();
        let mut got = Vec::new();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while got.len() < 400 && std::time::Instant::now() < deadline {
            got.extend(inbox.poll());
        }
        for w in writers {
            w.join().unwrap();
        }
        got.extend(inbox.poll());
        assert_eq!(got.len(), 400, "every line once");
        assert_eq!(got.iter().filter(|c| **c == ControlCommand::Pause).count(), 200);
        assert!(inbox.poll().is_empty(), "nothing read twice");
        let text = std::fs::read_to_string(dir.path().join(CONTROL_FILE)).unwrap();
        let from_file: Vec<_> = text.lines().skip(1).filter_map(ControlCommand::parse).collect();
        assert_eq!(got, from_file, "in the file's order");
    }

    #[test]
    fn a_line_without_its_newline_waits_for_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut inbox = ControlInbox::open(dir.path()).unwrap();
        let path = dir.path().join(CONTROL_FILE);
        std::fs::write(&path, "pau").unwrap();
        assert!(inbox.poll().is_empty());
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"se\nfrobnicate\nstop\n").unwrap();
        assert_eq!(inbox.poll(), [ControlCommand::Pause, ControlCommand::Stop]);
    }

    #[test]
    fn a_100_mb_line_without_newline_is_capped_and_commands_after_it_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let mut inbox = ControlInbox::open(dir.path()).unwrap();
        let path = dir.path().join(CONTROL_FILE);
        let mut f = OpenOptions::new().append(true).create(true).open(&path).unwrap();
        let block = vec![b'p'; 1 << 20];
        for _ in 0..100 {
            f.write_all(&block).unwrap();
        }
        assert!(inbox.poll().is_empty());
        assert!(inbox.lines.pending() <= CONTROL_LINE_MAX, "held {} bytes", inbox.lines.pending());
        f.write_all(b"\npause\n").unwrap();
        assert_eq!(inbox.poll(), [ControlCommand::Pause], "the reader goes on past the long line");
    }

    #[test]
    fn move_lines_round_trip_and_bad_ones_are_skipped() {
        for command in [
            ControlCommand::Move { device: "cuda:0".into(), threads: None },
            ControlCommand::Move { device: "cpu".into(), threads: Some(3) },
        ] {
            assert_eq!(ControlCommand::parse(&command.as_line()), Some(command));
        }
        for bad in ["move", "move cpu threads=x", "move cpu 3", "move cpu threads=2 extra"] {
            assert_eq!(ControlCommand::parse(bad), None, "{bad}");
        }
    }
}
