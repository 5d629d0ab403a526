//! `workbench run` in the foreground: show the command's output as it comes (from the run's
//! `output.log`), stop the run on Ctrl-C, and end with the command's exit code.
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::CommandError;
use crate::runs::events::OUTPUT_FILE;
use crate::runs::liveness::effective_status;
use crate::runs::{read_meta, send_control, ControlCommand, RunMeta, RunStatus};

/// How often the output and run.toml are looked at.
const POLL: Duration = Duration::from_millis(100);
/// How long a run may stay queued after its run process was started before that is an error.
const START_LIMIT: Duration = Duration::from_secs(60);

/// Follow the run in `dir` (its run process `pid`) to its end, copying its output to `out`.
/// The first `interrupt` asks the run to stop (SIGINT to the command); a second one leaves it
/// running and returns. Returns the exit code a shell would give for the command.
pub fn follow_to_end(
    dir: &Path,
    pid: u32,
    interrupt: &Arc<AtomicBool>,
    out: &mut dyn Write,
) -> Result<i32, CommandError> {
    let mut offset = 0u64;
    let mut stop_sent = false;
    let begun = Instant::now();
    loop {
        copy_new(dir, &mut offset, out);
        if interrupt.swap(false, Ordering::Relaxed) {
            if stop_sent {
                let _ = writeln!(out, "\nleaving it running: `workbench stop {}` stops it", folder_id(dir));
                return Ok(130);
            }
            match send_control(dir, ControlCommand::Stop) {
                Ok(()) => {
                    stop_sent = true;
                    let _ = writeln!(out, "\nstopping the command (SIGINT to its process group); Ctrl-C again leaves it running");
                }
                Err(e) => {
                    let _ = writeln!(out, "\ncannot stop it yet: {e}");
                }
            }
        }
        let meta = read_meta(dir).map_err(|e| CommandError::Run(e.to_string()))?;
        let status = effective_status(dir, &meta);
        match status {
            RunStatus::Queued if !crate::util::process_alive(pid) || begun.elapsed() > START_LIMIT => {
                copy_new(dir, &mut offset, out);
                return Err(CommandError::Run(format!(
                    "the run process for {} ended before it started the command; see {}",
                    dir.display(),
                    dir.join(OUTPUT_FILE).display()
                )));
            }
            RunStatus::Queued | RunStatus::Running | RunStatus::Paused => {}
            _ => {
                copy_new(dir, &mut offset, out);
                return Ok(exit_code(&meta, status));
            }
        }
        std::thread::sleep(POLL);
    }
}

/// The exit code to end with: the command's own, 128 + its signal, else 1 (130 when stopped).
pub fn exit_code(meta: &RunMeta, status: RunStatus) -> i32 {
    let command = meta.command.as_ref();
    if let Some(code) = command.and_then(|c| c.exit_code) {
        return code;
    }
    if let Some(signal) = command.and_then(|c| c.signal.as_deref()) {
        return 128 + signal_number(signal);
    }
    match status {
        RunStatus::Finished => 0,
        RunStatus::Stopped => 130,
        _ => 1,
    }
}

fn signal_number(name: &str) -> i32 {
    (1..32).find(|s| super::outcome::signal_name(*s) == name).unwrap_or(0)
}

fn folder_id(dir: &Path) -> String {
    crate::runs::folder_id(dir)
}

/// Copy what was appended to `output.log` since `offset`.
fn copy_new(dir: &Path, offset: &mut u64, out: &mut dyn Write) {
    let Ok(mut file) = File::open(dir.join(OUTPUT_FILE)) else { return };
    if file.seek(SeekFrom::Start(*offset)).is_err() {
        return;
    }
    let mut bytes = Vec::new();
    if file.read_to_end(&mut bytes).is_ok() && !bytes.is_empty() {
        *offset += bytes.len() as u64;
        let _ = out.write_all(&bytes);
        let _ = out.flush();
    }
}
