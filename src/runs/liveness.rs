//! Is a run's process still there? Judged by the lock the run process holds on `DIR/lock` for its
//! whole life (a reused pid can't fake it), else by its pid on this host (older folders), else by
//! the age of its heartbeat in `live.toml` (a run on another host writing to a shared folder, or a
//! folder on a filesystem that can't lock).
use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
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
    /// Set when the folder's filesystem can't lock (see [`RunLock::acquire`]): the warning to
    /// show, once per process; the run is then told alive by its heartbeat alone.
    fallback: Option<LockFallback>,
}

/// Why a run holds no real lock: the filesystem refused `flock` for a reason other than "held".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockFallback {
    /// The warning, naming the folder, its filesystem and the error; `None` when this process
    /// already showed one.
    pub warning: Option<String>,
}

/// Set once this process has warned that file locks don't work: one warning, not one per run.
static WARNED_NO_LOCKS: AtomicBool = AtomicBool::new(false);

impl RunLock {
    /// Take the run's lock (exclusive, without waiting). Fails with [`RunsError::Locked`] when
    /// another process holds it: that run is already going. On a filesystem where `flock` fails
    /// for another reason (ENOLCK, ENOSYS: some NFS and Lustre mounts), the run goes on without a
    /// lock, watched by its heartbeat (`live.toml`), with one warning naming the filesystem.
    pub fn acquire(dir: &Path) -> Result<RunLock, RunsError> {
        Self::acquire_with(dir, flock_exclusive, &WARNED_NO_LOCKS)
    }

    /// [`RunLock::acquire`] with the locking call given (tests stand in a filesystem that
    /// refuses locks) and the flag that says a warning was shown.
    pub(crate) fn acquire_with(
        dir: &Path,
        lock: impl Fn(&File) -> std::io::Result<()>,
        warned: &AtomicBool,
    ) -> Result<RunLock, RunsError> {
        let path = dir.join(LOCK_FILE);
        // Opened close-on-exec (std's default), so a child of the run can't keep it held.
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .map_err(|e| RunsError::write(&path, e))?;
        match lock(&file) {
            Ok(()) => Ok(RunLock { _file: file, fallback: None }),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Err(RunsError::Locked { path }),
            Err(e) => {
                // No lock to tell two starts apart: a fresh heartbeat of another process says the
                // run is already going.
                if let Some(live) = read_live(dir) {
                    let ours = live.pid == std::process::id() && live.host == super::host_name();
                    if !ours && heartbeat_says_alive(&live, SystemTime::now()) {
                        return Err(RunsError::Locked { path });
                    }
                }
                let first = !warned.swap(true, Ordering::SeqCst);
                let warning = first.then(|| no_lock_warning(dir, &e));
                if let Some(w) = &warning {
                    tracing::warn!("{w}");
                }
                Ok(RunLock { _file: file, fallback: Some(LockFallback { warning }) })
            }
        }
    }

    /// Whether the run holds no real lock (see [`RunLock::acquire`]), and the warning to show.
    pub fn fallback(&self) -> Option<&LockFallback> {
        self.fallback.as_ref()
    }
}

/// `flock(LOCK_EX | LOCK_NB)`: "would block" when another process holds it.
pub(crate) fn flock_exclusive(file: &File) -> std::io::Result<()> {
    // SAFETY: flock on a descriptor the caller owns for the call's length.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// The one warning shown when a runs folder's filesystem can't lock.
pub fn no_lock_warning(dir: &Path, error: &std::io::Error) -> String {
    format!(
        "file locks don't work in {} ({}: {error}); runs there are told alive by their heartbeat \
         (live.toml) instead of a lock",
        dir.display(),
        super::filesystem::describe(dir)
    )
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
    if heartbeat_says_alive(live, now) {
        Liveness::Alive
    } else {
        Liveness::Gone
    }
}

/// Whether the heartbeat was written within [`HEARTBEAT_STALE`] of `now`, by a process that may
/// still be there (on this host: its pid is alive).
fn heartbeat_says_alive(live: &LiveState, now: SystemTime) -> bool {
    let now_ms = now.duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
    let fresh = now_ms.saturating_sub(live.updated_unix_ms) <= HEARTBEAT_STALE.as_millis() as u64;
    fresh && (live.host != super::host_name() || pid_alive(live.pid))
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

/// The most of `live.toml` read: the run process writes a few hundred bytes; a larger file is
/// not one of ours, and is not read into memory.
pub const LIVE_FILE_MAX: u64 = 64 * 1024;

/// `live.toml`, when there is one, it is no larger than [`LIVE_FILE_MAX`], and it parses.
pub fn read_live(dir: &Path) -> Option<LiveState> {
    let text = crate::util::lines::read_capped(&dir.join(LIVE_FILE), LIVE_FILE_MAX).ok()?;
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

    /// A filesystem that refuses locks the way some NFS and Lustre mounts do.
    fn no_locks(_: &File) -> std::io::Result<()> {
        Err(std::io::Error::from_raw_os_error(libc::ENOLCK))
    }

    fn heartbeat(dir: &Path, pid: u32, age_ms: u64) {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
        let live = LiveState {
            phase: "training".into(),
            done: 0,
            total: 0,
            epoch: 1,
            step: 1,
            updated_unix_ms: now - age_ms,
            pid,
            host: crate::runs::host_name(),
            samples_per_s: None,
            eta_s: None,
        };
        std::fs::write(dir.join(LIVE_FILE), toml::to_string(&live).unwrap()).unwrap();
    }

    #[test]
    fn a_filesystem_without_locks_falls_back_to_the_heartbeat_with_one_warning() {
        let warned = AtomicBool::new(false);
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let first = RunLock::acquire_with(a.path(), no_locks, &warned).unwrap();
        let warning = first.fallback().unwrap().warning.clone().unwrap();
        assert!(
            warning.starts_with(&format!("file locks don't work in {} (", a.path().display())),
            "{warning}"
        );
        assert!(
            warning.contains("mounted on") || warning.contains("filesystem type"),
            "names the filesystem: {warning}"
        );
        assert!(warning.contains("No locks available"), "{warning}");
        assert!(warning.contains("heartbeat (live.toml)"), "{warning}");
        let second = RunLock::acquire_with(b.path(), no_locks, &warned).unwrap();
        assert_eq!(second.fallback().unwrap().warning, None, "one warning per process, not one per run");
        let locked = RunLock::acquire(tempfile::tempdir().unwrap().path()).unwrap();
        assert!(locked.fallback().is_none(), "a filesystem that locks holds a real lock");
    }

    #[test]
    fn without_locks_a_fresh_heartbeat_of_another_process_means_already_running() {
        let warned = AtomicBool::new(true);
        let dir = tempfile::tempdir().unwrap();
        heartbeat(dir.path(), 1, 2_000); // pid 1 is always alive
        assert!(matches!(
            RunLock::acquire_with(dir.path(), no_locks, &warned),
            Err(RunsError::Locked { .. })
        ));
        heartbeat(dir.path(), 1, 120_000);
        assert!(RunLock::acquire_with(dir.path(), no_locks, &warned).is_ok(), "a stale heartbeat is gone");
        heartbeat(dir.path(), 4_999_999, 1_000); // above pid_max: that process is gone
        assert!(
            RunLock::acquire_with(dir.path(), no_locks, &warned).is_ok(),
            "a dead pid's heartbeat is gone"
        );
        let held = |_: &File| Err(std::io::Error::from_raw_os_error(libc::EWOULDBLOCK));
        assert!(matches!(RunLock::acquire_with(dir.path(), held, &warned), Err(RunsError::Locked { .. })));
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
