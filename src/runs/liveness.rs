//! Is a run's process still there? Judged by the lock the run process holds on `DIR/lock` for its
//! whole life (a reused pid can't fake it), else by its pid on this host (older folders), else by
//! the age of its heartbeat in `live.toml` (a run on another host writing to a shared folder).
use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::error::RunsError;
use super::events::{LiveState, LIVE_FILE, LOCK_FILE};
use super::{RunMeta, RunStatus};

/// A heartbeat older than this means the run on another host is gone (or can't be seen).
pub const HEARTBEAT_STALE: Duration = Duration::from_secs(60);

/// What a viewer can tell about a run's process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    /// The process holds its lock, or its pid/heartbeat says it is there.
    Alive,
    /// The lock is free, the pid is gone, or the heartbeat is stale.
    Gone,
    /// Nothing to judge by (another host's older folder without a heartbeat): take run.toml at
    /// its word.
    Unknown,
}

/// The lock a run process holds on `DIR/lock` for its whole life; dropping it lets go.
#[derive(Debug)]
pub struct RunLock {
    _file: File,
}

impl RunLock {
    /// Take the run's lock (exclusive, without waiting). Fails with [`RunsError::Locked`] when
    /// another process holds it: that run is already going.
    pub fn acquire(dir: &Path) -> Result<RunLock, RunsError> {
        let path = dir.join(LOCK_FILE);
        // Opened close-on-exec (std's default), so a child of the run can't keep it held.
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| RunsError::write(&path, e))?;
        // SAFETY: flock on a descriptor this function owns.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
                return Err(RunsError::Locked { path });
            }
            return Err(RunsError::write(&path, err));
        }
        Ok(RunLock { _file: file })
    }
}

/// Whether the lock on `DIR/lock` is held by some process: `None` when there is no lock file (an
/// older folder) or it can't be opened. Never creates or changes anything.
pub fn lock_held(dir: &Path) -> Option<bool> {
    let file = File::open(dir.join(LOCK_FILE)).ok()?;
    // SAFETY: flock on a descriptor this function owns; a shared lock taken is released at once.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_SH | libc::LOCK_NB) };
    if rc == 0 {
        // SAFETY: as above.
        unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_UN) };
        return Some(false);
    }
    match std::io::Error::last_os_error().raw_os_error() {
        Some(libc::EWOULDBLOCK) => Some(true),
        _ => None,
    }
}

/// Whether a process with this id exists here: the one helper the staging cache and the runs share.
pub use crate::util::process_alive as pid_alive;

/// Judge the process of the run in `dir` whose `run.toml` says `pid` and `host`.
pub fn liveness(dir: &Path, pid: u32, host: &str) -> Liveness {
    let same_host = host == super::host_name();
    if same_host {
        if let Some(held) = lock_held(dir) {
            return if held { Liveness::Alive } else { Liveness::Gone };
        }
        return if pid_alive(pid) { Liveness::Alive } else { Liveness::Gone };
    }
    // Another host: a lock on a shared folder may not be seen from here; the heartbeat is.
    match read_live(dir) {
        Some(live) => heartbeat_liveness(&live, SystemTime::now()),
        None => Liveness::Unknown,
    }
}

/// Alive when the heartbeat was written within [`HEARTBEAT_STALE`] of `now`.
pub fn heartbeat_liveness(live: &LiveState, now: SystemTime) -> Liveness {
    let now_ms = now.duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
    if now_ms.saturating_sub(live.updated_unix_ms) <= HEARTBEAT_STALE.as_millis() as u64 {
        Liveness::Alive
    } else {
        Liveness::Gone
    }
}

/// The status to show: a `running` or `paused` run whose process is gone was interrupted;
/// `queued` stays queued (its process has not started); an ended run reads as it ended.
pub fn effective_status(dir: &Path, meta: &RunMeta) -> RunStatus {
    match meta.status {
        RunStatus::Running | RunStatus::Paused => match liveness(dir, meta.pid, &meta.host) {
            Liveness::Gone => RunStatus::Interrupted,
            Liveness::Alive | Liveness::Unknown => meta.status,
        },
        other => other,
    }
}

/// `live.toml`, when there is one and it parses.
pub fn read_live(dir: &Path) -> Option<LiveState> {
    let text = std::fs::read_to_string(dir.join(LIVE_FILE)).ok()?;
    toml::from_str(&text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_and_a_dropped_one_is_free() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(lock_held(dir.path()), None, "no lock file: can't tell");
        let lock = RunLock::acquire(dir.path()).unwrap();
        assert_eq!(lock_held(dir.path()), Some(true));
        assert!(matches!(RunLock::acquire(dir.path()), Err(RunsError::Locked { .. })));
        drop(lock);
        assert_eq!(lock_held(dir.path()), Some(false));
    }

    #[test]
    fn pid_alive_knows_this_process_and_refuses_group_ids() {
        assert!(pid_alive(std::process::id()));
        assert!(!pid_alive(0));
        assert!(!pid_alive(u32::MAX));
    }

    #[test]
    fn an_old_heartbeat_is_gone() {
        let now = SystemTime::now();
        let ms = now.duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
        let mut live = LiveState {
            phase: "training".into(),
            done: 0,
            total: 0,
            epoch: 1,
            step: 1,
            updated_unix_ms: ms - 5_000,
            pid: 1,
            host: "elsewhere".into(),
            samples_per_s: None,
            eta_s: None,
        };
        assert_eq!(heartbeat_liveness(&live, now), Liveness::Alive);
        live.updated_unix_ms = ms - 120_000;
        assert_eq!(heartbeat_liveness(&live, now), Liveness::Gone);
    }
}
